"""The embedded broker: an in-memory Redis (fakeredis) served over TCP.

Celery and Flower talk to it with the same kombu Redis transport as production
(lists for queues, sorted sets for unacknowledged messages, Lua scripts, pub/sub
for events and remote control), so tasks, acknowledgements and Flower behave as
they do against a real Redis. It keeps nothing on disk: messages queued when it
stops are lost, and the job reaper sends still-queued jobs again from the
database after a restart.

Run as its own process (``python -m api.standalone.broker PORT_FILE``) so its
polling threads never compete with the runner for the GIL; it binds a free
port and writes the port number to PORT_FILE once it accepts connections.
"""

from __future__ import annotations

import importlib.util
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

MISSING_PACKAGES = (
    "the embedded broker needs the packages fakeredis and lupa "
    "(pip install 'fakeredis[lua]'), or set TASADOR_BROKER_URL to a Redis server"
)


def check_available() -> str | None:
    """None when the embedded broker can run, else what to install."""
    # lupa is how fakeredis runs the Lua scripts kombu's Redis transport sends.
    if all(importlib.util.find_spec(name) is not None for name in ("fakeredis", "lupa")):
        return None
    return MISSING_PACKAGES


# fakeredis polls every connection for pushed replies (BRPOP wake-ups, pub/sub
# messages) every 10 ms; with the dozen connections Celery and Flower keep open
# that costs a fifth of a core while idle. 50 ms costs a few percent and adds at
# most 50 ms before a worker sees a new task.
POLL_SECONDS = 0.05


def serve(port_file: Path, host: str = "127.0.0.1") -> None:
    import fakeredis

    # A private knob: if a fakeredis release drops it, the broker still works.
    server_module = sys.modules.get(fakeredis.TcpFakeServer.__module__)
    if server_module is not None and hasattr(server_module, "_POLL_INTERVAL"):
        setattr(server_module, "_POLL_INTERVAL", POLL_SECONDS)  # noqa: B010

    server = fakeredis.TcpFakeServer((host, 0), server_type="redis")
    port = server.server_address[1]

    def stop(_signum: int, _frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever() to return, so not on its thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    partial = port_file.with_suffix(".partial")
    partial.write_text(str(port), encoding="utf-8")
    partial.replace(port_file)  # readers never see a half-written number
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
