"""Logs never hurt: no local variables, no secrets, a traceback in JSON, bounded cost.

Each test logs the way the service does (structlog and stdlib loggers through
the service's formatter) and reads the lines exactly as they would be written.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator

import pytest
import structlog

from api import log_writer
from api.auth.tokens import issue_access_token
from api.logging import build_formatter, configure_logging, flush_logs, get_logger, mark_logged
from tests.fixtures.logs import CapturedLines

API_KEY = "tsk_" + "k3yMaterial" * 4
REFRESH_TOKEN = "tsr_" + "r3freshMaterial" * 3
WEBHOOK_SECRET = "whsec_" + "S1gningSecret" * 3
PASSWORD = "correct-Horse-battery-9"
DB_PASSWORD = "pg-Pa55word-in-url"
LOCAL_ONLY = "value-held-only-in-a-local-variable"


def jwt() -> str:
    return issue_access_token(7, "member").token


def secrets_in(text: str, token: str) -> list[str]:
    return [s for s in (API_KEY, REFRESH_TOKEN, WEBHOOK_SECRET, PASSWORD, DB_PASSWORD, token)
            if s in text]  # fmt: skip


def fail_while_holding_secrets(token: str) -> None:
    api_key = API_KEY  # noqa: F841  (locals a traceback with locals would show)
    password = PASSWORD  # noqa: F841
    marker = LOCAL_ONLY  # noqa: F841
    body = b"x" * 200_000  # noqa: F841
    url = f"postgresql+psycopg://tasador:{DB_PASSWORD}@db:5432/tasador"
    raise ConnectionError(
        f"cannot reach {url} with headers {{'authorization': 'Bearer {token}', "
        f"'x-api-key': '{API_KEY}'}}; refresh={REFRESH_TOKEN} secret {WEBHOOK_SECRET}"
    )


@pytest.fixture(params=["json", "text"])
def log_format(request: pytest.FixtureRequest) -> Iterator[str]:
    fmt: str = request.param
    configure_logging(force_format=fmt)
    yield fmt
    configure_logging()


@pytest.fixture
def lines(log_format: str) -> Iterator[CapturedLines]:
    root = logging.getLogger()
    handler = CapturedLines(build_formatter(log_format))
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


def test_an_exception_is_logged_with_its_traceback_and_without_locals_or_secrets(
    log_format: str, lines: CapturedLines
) -> None:
    token = jwt()
    try:
        fail_while_holding_secrets(token)
    except ConnectionError:
        get_logger("tests").exception(
            "unhandled_error", api_key=API_KEY, headers={"Authorization": f"Bearer {token}"}
        )
    [line] = lines.lines
    assert secrets_in(line, token) == []
    assert LOCAL_ONLY not in line and "xxxxxxxx" not in line
    assert "Traceback (most recent call last)" in line
    assert "fail_while_holding_secrets" in line
    assert "ConnectionError: cannot reach postgresql+psycopg://tasador:[redacted]@db" in line
    if log_format == "json":
        event = json.loads(line)
        assert event["event"] == "unhandled_error"
        assert "exc_info" not in event
        assert event["exception"].startswith("Traceback (most recent call last)")
        assert event["api_key"] == "[redacted]"


def test_library_log_records_are_redacted_too(log_format: str, lines: CapturedLines) -> None:
    token = jwt()
    try:
        fail_while_holding_secrets(token)
    except ConnectionError as exc:
        logging.getLogger("uvicorn.error").error("Exception in ASGI application", exc_info=exc)
    logging.getLogger("sqlalchemy.engine").warning(
        "connecting with password=%s to redis://:%s@cache:6379/0", PASSWORD, DB_PASSWORD
    )
    logging.getLogger("celery.worker").info("header X-API-Key: %s", API_KEY)
    assert len(lines.lines) == 3
    assert secrets_in(lines.text, token) == []
    assert LOCAL_ONLY not in lines.text
    assert "Traceback (most recent call last)" in lines.lines[0]


def test_an_exception_already_logged_is_not_logged_again_by_the_server(
    log_format: str,
) -> None:
    handler = logging.getLogger().handlers[0]
    out = CapturedLines(build_formatter(log_format))
    for f in handler.filters:  # the service's handler carries the filter; reuse it here
        out.addFilter(f)
    logging.getLogger().addHandler(out)
    try:
        try:
            raise RuntimeError("boom")
        except RuntimeError as exc:
            get_logger("api.access").exception("unhandled_error")
            mark_logged(exc)
            logging.getLogger("uvicorn.error").error("Exception in ASGI application", exc_info=exc)
    finally:
        logging.getLogger().removeHandler(out)
    assert out.text.count("Traceback (most recent call last)") == 1
    assert "Exception in ASGI application" not in out.text


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_one_exception_costs_milliseconds_not_seconds(fmt: str) -> None:
    """The figure itself is measured by tests/perf/log_cost.py; this bound is generous."""
    handler = CapturedLines(build_formatter(fmt))
    logger = logging.getLogger("tests.cost")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        rows = [{"id": i, "sector": "vitacura", "price": i * 1.5} for i in range(5_000)]  # noqa: F841
        token = jwt()
        elapsed = []
        for _ in range(5):
            try:
                fail_while_holding_secrets(token)
            except ConnectionError:
                started = time.perf_counter()
                logger.exception("unhandled_error")
                elapsed.append(time.perf_counter() - started)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    assert min(elapsed) < 0.2
    assert max(len(line) for line in handler.lines) < 16_000


class StalledStream:
    """A log output that accepts nothing until released (a full pipe, a hung disk)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.text = ""

    def write(self, text: str) -> int:
        self.release.wait(30)
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


def test_a_stalled_log_output_never_blocks_the_caller_and_drops_are_counted() -> None:
    configure_logging(force_format="json")
    stream = StalledStream()
    handler = log_writer.QueuedLogHandler(stream, max_bytes=64 * 1024)  # type: ignore[arg-type]
    handler.setFormatter(build_formatter("json"))
    logging.getLogger().handlers[:] = [handler]
    log_writer.start(handler)
    dropped_before = log_writer.dropped_lines()
    log = structlog.get_logger("tests.flood")
    try:
        started = time.perf_counter()
        for i in range(5_000):
            log.info("flood", n=i, padding="p" * 100)
        elapsed = time.perf_counter() - started
        assert elapsed < 10  # 5,000 lines while the output takes none
        assert log_writer.dropped_lines() - dropped_before > 4_000
    finally:
        stream.release.set()
    assert flush_logs(10)
    lines = [json.loads(line) for line in stream.text.splitlines()]
    assert any(line["event"] == "flood" for line in lines)
    [notice, *_] = [line for line in lines if line["event"] == "log_lines_dropped"]
    assert notice["count"] > 4_000 and notice["level"] == "warning"
    configure_logging()
