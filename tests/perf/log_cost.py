"""What one logged exception costs, per log format.

    python -m tests.perf.log_cost [--repeat 200]

Two figures per format (``json``, ``text``):

- *log call*: ``log.exception(...)`` on the calling thread (format, redact and
  hand the line to the writer thread), from a frame that holds a 200 kB body and
  a 5,000-row list, as a request handler might;
- *written*: the same until the line is on disk.

And the size of one such line. Needs no database or server.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time

from api import log_writer
from api.logging import configure_logging, flush_logs, get_logger


def _fail(body: bytes, rows: list[dict[str, object]]) -> None:
    api_key = "tsk_" + "A" * 43  # noqa: F841  (a local a traceback with locals would print)
    raise ConnectionError("connection to postgresql://svc:pw@db:5432/tasador refused")


def measure(fmt: str, repeat: int) -> dict[str, float]:
    configure_logging(force_format=fmt, background=True)
    with tempfile.TemporaryFile("w+") as out:
        [handler] = logging.getLogger().handlers
        assert isinstance(handler, log_writer.QueuedLogHandler)
        handler.stream = out
        log = get_logger("bench")
        body = b"x" * 200_000
        rows: list[dict[str, object]] = [{"id": i, "price": i * 1.5} for i in range(5_000)]
        calls, written = [], []
        for _ in range(repeat):
            try:
                _fail(body, rows)
            except ConnectionError:
                started = time.perf_counter()
                log.exception("unhandled_error", route="/v1/jobs")
                calls.append(time.perf_counter() - started)
                flush_logs()
                written.append(time.perf_counter() - started)
        out.flush()
        size = os.fstat(out.fileno()).st_size / repeat
    configure_logging()
    return {
        "call_median_ms": statistics.median(calls) * 1000,
        "call_p99_ms": sorted(calls)[int(0.99 * (len(calls) - 1))] * 1000,
        "written_median_ms": statistics.median(written) * 1000,
        "line_kib": size / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.perf.log_cost", description=__doc__)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args(argv)
    for fmt in ("json", "text"):
        r = measure(fmt, args.repeat)
        print(
            f"{fmt:>4}: log call {r['call_median_ms']:.2f} ms median "
            f"({r['call_p99_ms']:.2f} ms p99), written {r['written_median_ms']:.2f} ms median, "
            f"{r['line_kib']:.1f} KiB per exception",
            file=sys.stdout,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
