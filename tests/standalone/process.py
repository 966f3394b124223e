"""Driving a ``tasador standalone`` process from a test: output, pids, signals."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "Press Ctrl-C to stop every process."


def clean_environment() -> dict[str, str]:
    """The test session's environment without its TASADOR_* settings.

    The suite points TASADOR_DATABASE_URL and the broker at the shared test
    services; the standalone run must use none of them.
    """
    return {name: value for name, value in os.environ.items() if not name.startswith("TASADOR_")}


def command() -> list[str]:
    script = Path(sys.executable).with_name("tasador")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from api.cli import app; app(prog_name='tasador')"]


class Standalone:
    """One ``tasador standalone`` process, its output collected as it comes."""

    def __init__(self, data_dir: Path, api_port: int, flower_port: int) -> None:
        self.data_dir = data_dir
        argv = [*command(), "standalone", "--data-dir", str(data_dir)]
        argv += ["--api-port", str(api_port), "--flower-port", str(flower_port)]
        self.api = f"http://127.0.0.1:{api_port}"
        self.flower = f"http://127.0.0.1:{flower_port}"
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=clean_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self._lines)

    def wait_until_ready(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while READY_LINE not in self._lines:
            if self.proc.poll() is not None:
                self._reader.join(2)
                raise AssertionError(f"standalone exited early:\n{self.output}\n{self.logs()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"not ready after {timeout} s:\n{self.output}\n{self.logs()}")
            time.sleep(0.2)
        return self.output

    def children(self) -> dict[str, int]:
        pids: dict[str, int] = json.loads((self.data_dir / "run" / "pids.json").read_text())
        return pids

    def interrupt(self, timeout: float) -> int:
        """Ctrl-C, as a terminal sends it; the exit code."""
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def kill(self) -> None:
        """Last resort after a failed test: nothing may outlive it."""
        pids = self.children() if (self.data_dir / "run" / "pids.json").exists() else {}
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pid in pids.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)

    def logs(self) -> str:
        parts = []
        for log in sorted((self.data_dir / "logs").glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-15:]
            parts.append(f"--- {log.name}\n" + "\n".join(tail))
        return "\n".join(parts)


def live_processes_in_sessions(sessions: set[int]) -> list[str]:
    """Processes (not zombies) whose session is one of ``sessions``.

    Every child of the runner leads its own session, so this finds the children
    and everything they started, such as Celery's pool processes.
    """
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # exited while we looked
        # The command name is in parentheses and may contain spaces.
        fields = text[text.rindex(")") + 2 :].split()
        state, session = fields[0], int(fields[3])
        if session in sessions and state != "Z":
            found.append(f"{stat.parent.name} {text[: text.rindex(')') + 1]}")
    return found
