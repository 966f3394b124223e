"""Reading what the processes logged, in either format (``TASADOR_LOG_FORMAT``).

An access-log line is the ``request`` event of ``api.main.RequestContext``: JSON
``{"event": "request", "status": 200, ...}`` or text ``... [info] request ... status=200``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

_TEXT_ACCESS = re.compile(r"\] request\s.*\bstatus=(\d{3})\b")


@dataclass
class AccessLog:
    statuses: Counter[int] = field(default_factory=Counter)
    unhandled_errors: int = 0
    traceback_lines: int = 0
    size_bytes: int = 0


def read_access_log(path: Path) -> AccessLog:
    summary = AccessLog(size_bytes=path.stat().st_size)
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if line.startswith("{"):
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("event") == "request" and isinstance(event.get("status"), int):
                    summary.statuses[event["status"]] += 1
                summary.unhandled_errors += event.get("event") == "unhandled_error"
                summary.traceback_lines += "Traceback" in str(event.get("exception", ""))
                continue
            if match := _TEXT_ACCESS.search(line):
                summary.statuses[int(match[1])] += 1
            summary.unhandled_errors += "unhandled_error" in line
            summary.traceback_lines += line.startswith("Traceback") or "─ Traceback" in line
    return summary


def needle(secret: str) -> bytes:
    """What betrays ``secret`` in a log, even shortened (a renderer may cut long values).

    A JWT's first part is the same for every token, so its signature is searched;
    for anything else its first 20 characters, of which at least 16 are random.
    """
    parts = secret.split(".")
    if len(parts) == 3 and secret.startswith("eyJ"):
        return parts[2].encode()
    return secret[:20].encode()


def secrets_found(logs: Path, secrets: dict[str, str]) -> dict[tuple[str, str], int]:
    """(secret name, file name) -> occurrences, for every file under ``logs``."""
    found: dict[tuple[str, str], int] = {}
    for path in sorted(p for p in logs.rglob("*") if p.is_file()):
        data = path.read_bytes()
        for name, value in secrets.items():
            if count := data.count(needle(value)):
                found[(name, str(path.relative_to(logs)))] = count
    return found
