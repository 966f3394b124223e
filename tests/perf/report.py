"""Results: repeated samples summarised as median [min, max], the machine, the table."""

from __future__ import annotations

import os
import platform
import statistics
from dataclasses import dataclass, field
from typing import Any


def summary(samples: list[float]) -> dict[str, Any]:
    """Median, min, max and the samples themselves (rounded for the JSON file)."""
    if not samples:
        return {"median": None, "min": None, "max": None, "samples": []}
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "samples": [round(s, 6) for s in samples],
    }


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation, as numpy's default."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def machine() -> dict[str, Any]:
    """Cores, memory and CPU model of this machine, from /proc where available."""
    cpu = platform.processor() or "unknown"
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):  # noqa: SIM115
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = None
    try:
        for line in open("/proc/meminfo", encoding="utf-8"):  # noqa: SIM115
            if line.startswith("MemTotal:"):
                memory_gib = round(int(line.split()[1]) / 1024**2, 1)
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cores": cores,
        "memory_gib": memory_gib,
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


@dataclass
class Row:
    """One line of the table: a measured figure and, when there is one, its target."""

    case: str
    metric: str
    value: dict[str, Any] | float | str
    unit: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""


@dataclass
class Results:
    machine: dict[str, Any]
    mode: str
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    wall_seconds: float = 0.0

    def add(self, *rows: Row) -> None:
        self.rows.extend(rows)

    def as_json(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "mode": self.mode,
            "wall_seconds": round(self.wall_seconds, 1),
            "skipped": self.skipped,
            "rows": [row.__dict__ for row in self.rows],
            "details": self.details,
        }


def _number(value: float, unit: str) -> str:
    if unit in {"x", "ratio"}:
        return f"{value:.2f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def render_value(value: dict[str, Any] | float | str, unit: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if value["median"] is None:
            return "n/a"
        median, low, high = (_number(value[k], unit) for k in ("median", "min", "max"))
        return median if len(value["samples"]) < 2 else f"{median} [{low} to {high}]"
    return _number(value, unit)


def markdown(results: Results) -> str:
    m = results.machine
    lines = [
        f"Machine: {m['cores']} cores, {m['memory_gib']} GiB, {m['cpu']}; "
        f"Python {m['python']}. Mode: {results.mode}; wall time {results.wall_seconds:.0f} s. "
        "Figures: median [min to max] over the repeats.",
        "",
        "| case | metric | value | unit | target | met |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in results.rows:
        met = {True: "yes", False: "**no**", None: ""}[row.met]
        metric = f"{row.metric} ({row.note})" if row.note else row.metric
        value = render_value(row.value, row.unit)
        lines.append(f"| {row.case} | {metric} | {value} | {row.unit} | {row.target} | {met} |")
    for case, reason in results.skipped.items():
        lines.append(f"| {case} | skipped | {reason} | | | |")
    return "\n".join(lines) + "\n"
