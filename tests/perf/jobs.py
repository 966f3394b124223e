"""Following jobs from the harness: their rows in the bench database, worker memory."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.types import Uuid

TERMINAL = {"succeeded", "failed", "cancelled"}

_SELECT = text(
    "SELECT id, status, created_at, started_at, finished_at, result, error FROM jobs "
    "WHERE id IN :ids"
).bindparams(bindparam("ids", expanding=True, type_=Uuid()))


@dataclass
class JobRow:
    id: uuid.UUID
    status: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any] | None
    error: dict[str, Any] | None

    @property
    def wait_seconds(self) -> float | None:
        """Submit to running: how long the job waited for a worker."""
        if self.started_at is None:
            return None
        return (self.started_at - self.created_at).total_seconds()

    @property
    def total_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.created_at).total_seconds()

    @property
    def run_seconds(self) -> float | None:
        if self.finished_at is None or self.started_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


def read_jobs(engine: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, JobRow]:
    rows: dict[uuid.UUID, JobRow] = {}
    with engine.connect() as conn:
        for start in range(0, len(ids), 500):
            for r in conn.execute(_SELECT, {"ids": ids[start : start + 500]}):
                rows[r.id] = JobRow(*r)
    return rows


class MemoryProbe:
    """Peak resident memory (VmHWM) of a worker's pool processes, by sampling /proc."""

    def __init__(self, parent_pid: int) -> None:
        self.parent_pid = parent_pid
        self.peaks: dict[int, int] = {}

    def children(self) -> list[int]:
        # /proc/<pid>/task/*/children is not on every kernel; the parent in stat is.
        pids: list[int] = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == self.parent_pid:
                pids.append(int(stat.parent.name))
        return pids

    def sample(self) -> None:
        for pid in self.children():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue  # the child just exited
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    kib = int(line.split()[1])
                    self.peaks[pid] = max(self.peaks.get(pid, 0), kib)

    def peak_mib(self) -> float:
        """Largest peak among the children seen."""
        return max(self.peaks.values(), default=0) / 1024

    def current_rss_mib(self) -> float:
        total = 0
        for pid in self.children():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total = max(total, int(line.split()[1]))
            except OSError:
                continue
        return total / 1024


def wait_for(
    engine: Any, ids: list[uuid.UUID], timeout: float, probe: MemoryProbe | None = None
) -> dict[uuid.UUID, JobRow]:
    """Poll until every job is terminal (or ``timeout``); sample memory meanwhile."""
    deadline = time.monotonic() + timeout
    next_poll = 0.0
    rows: dict[uuid.UUID, JobRow] = {}
    while True:
        if probe is not None:
            probe.sample()
        now = time.monotonic()
        if now >= next_poll:
            rows = read_jobs(engine, ids)
            if len(rows) == len(ids) and all(r.status in TERMINAL for r in rows.values()):
                return rows
            next_poll = now + 0.2
        if now > deadline:
            return rows
        time.sleep(0.05)
