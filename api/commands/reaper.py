"""``tasador reaper``: job recovery, webhook retries and sweeping, as a process of its own.

Workers run the same reaper in a thread, but then recovery needs a live worker:
with every worker gone, a flushed broker's jobs would wait for the first one to
come back. A reaper process needs only the database, the broker and the store.
"""

from __future__ import annotations

import json
import signal
import threading
from dataclasses import asdict
from types import FrameType

import typer

from api.config import get_settings
from api.jobs.execution.reaper import Reaper
from api.logging import configure_logging, get_logger

log = get_logger("api.commands.reaper")


def reaper(
    once: bool = typer.Option(
        False, "--once", help="run one pass (sweep included), print its report and exit"
    ),
) -> None:
    """Recover lost jobs, send due webhook retries and sweep leftovers, until stopped.

    With --once the exit status is 1 when a duty failed (the report names it).
    """
    configure_logging()
    runner = Reaper(sweep_now=True)
    if once:
        report = runner.run_pass()
        typer.echo(json.dumps(asdict(report)))
        raise typer.Exit(1 if report.failed_duties else 0)
    stopped = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("reaper_started", interval_seconds=get_settings().reaper_interval_seconds)
    runner.run_forever(stopped, wait_first=False)
    log.info("reaper_stopped")
