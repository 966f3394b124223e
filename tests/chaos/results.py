"""Recovery figures each chaos test observed, printed as a table and kept as JSON.

A test records its figures *before* it asserts, so a failing test still says
what it saw (how long the API stalled, how many 500s were logged).
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests.perf.stack import ROOT

RESULTS_FILE = ROOT / "chaos-results.json"


@dataclass
class Record:
    test: str
    outcome: str = "not run"
    figures: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def figure(self, name: str, value: Any) -> None:
        self.figures[name] = round(value, 2) if isinstance(value, float) else value

    def note(self, text: str) -> None:
        self.notes.append(text)


class Stopwatch:
    """Seconds since it was started (monotonic)."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self) -> float:
        return time.monotonic() - self.started


@dataclass
class Results:
    records: dict[str, Record] = field(default_factory=dict)
    load_at_start: tuple[float, ...] = field(default_factory=os.getloadavg)
    context: dict[str, Any] = field(default_factory=dict)

    def record(self, test: str) -> Record:
        return self.records.setdefault(test, Record(test))

    def table(self) -> str:
        load = "/".join(f"{x:.1f}" for x in os.getloadavg())
        lines = [f"load average {load} on {os.cpu_count()} CPUs (figures stretch under load)"]
        lines += [f"{name}: {value}" for name, value in self.context.items()]
        lines.append(f"{'test':<52} {'outcome':<8} figures (seconds unless named)")
        for record in self.records.values():
            shown = ", ".join(f"{k}={v}" for k, v in record.figures.items())
            lines.append(f"{record.test:<52} {record.outcome:<8} {shown}")
            lines += [f"{'':<61} note: {note}" for note in record.notes]
        return "\n".join(lines)

    def write(self, path: Path = RESULTS_FILE) -> None:
        body = {
            "machine": {
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "load_average_at_start": self.load_at_start,
                "load_average_at_end": os.getloadavg(),
            },
            "context": self.context,
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "tests": [asdict(r) for r in self.records.values()],
        }
        path.write_text(json.dumps(body, indent=2) + "\n")
