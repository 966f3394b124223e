"""A real HTTP receiver on loopback whose answer to each request the test scripts.

Each request takes the next ``Reply`` from the script (the last one repeats),
and every request is recorded with its headers and body, so a test can check
what arrived exactly as a customer's endpoint would see it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"ok"
    delay: float = 0.0  # seconds to wait before answering (to provoke timeouts)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int


class Receiver:
    def __init__(self, port: int = 0) -> None:
        self.script: list[Reply] = [Reply()]
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._served = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                reply = receiver._next()
                receiver._record(self, body, reply.status)
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout under test)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def reply_with(self, *replies: Reply) -> None:
        with self._lock:
            self.script = list(replies)
            self._served = 0

    def _next(self) -> Reply:
        with self._lock:
            reply = self.script[min(self._served, len(self.script) - 1)]
            self._served += 1
            return reply

    def _record(self, handler: BaseHTTPRequestHandler, body: bytes, status: int) -> None:
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self._lock:
            self.requests.append(Received(handler.path, headers, body, status))

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"receiver got {len(self.requests)} of {count} requests")
            time.sleep(0.05)
        return list(self.requests)

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
