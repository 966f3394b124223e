"""Process supervision: start the children, notice one dying, stop them all.

Each child runs in its own session (process group). Ctrl-C in a terminal then
reaches only the runner, which stops the children in order instead of every
process getting the signal at once. A stop asks each child's main process
(SIGTERM: Celery's warm shutdown, uvicorn's graceful one), which stops what it
started; whatever is left after the timeout is killed by process group, which
also reaches processes the child started itself (Celery's pool processes).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from api.standalone.environment import Layout

# The runner's own interpreter, so children use the same virtualenv.
CLI = [sys.executable, "-c", "from api.cli import app; app(prog_name='tasador')"]


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def exited(self) -> bool:
        return self.process.poll() is not None

    def terminate(self) -> None:
        if not self.exited():
            self.process.terminate()

    def signal_group(self, signum: int) -> None:
        # ProcessLookupError: already gone, with everything it started.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signum)

    def log_tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


class Supervisor:
    """The children of one standalone run, in start order."""

    def __init__(self, layout: Layout, env: Mapping[str, str]) -> None:
        self.layout = layout
        self.env = dict(env)
        self.children: list[Child] = []

    def start(self, name: str, argv: Sequence[str]) -> Child:
        """Start ``argv`` with output appended to ``logs/<name>.log``."""
        log_path = self.layout.logs / f"{name}.log"
        log_file = log_path.open("ab")
        log_file.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {name}\n".encode())
        log_file.flush()
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            list(argv),
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        child = Child(name, process, log_path, log_file)
        self.children.append(child)
        self._write_pids()
        return child

    def start_command(self, name: str, *args: str) -> Child:
        """Start a ``tasador`` sub-command."""
        return self.start(name, [*CLI, *args])

    def first_exited(self) -> Child | None:
        return next((child for child in self.children if child.exited()), None)

    def stop_all(self, timeout: float, last: Child | None = None) -> None:
        """SIGTERM every child, SIGKILL their groups after ``timeout`` s.

        ``last`` (the broker) is stopped after the others, so workers can still
        talk to it while they shut down.
        """
        first = [child for child in self.children if child is not last]
        self._stop(first, timeout)
        if last is not None:
            self._stop([last], timeout)
        for child in self.children:
            child.log_file.close()

    @staticmethod
    def _stop(children: list[Child], timeout: float) -> None:
        for child in children:
            child.terminate()
        deadline = time.monotonic() + timeout
        for child in children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(max(0.0, deadline - time.monotonic()))
            # Kill the group even when the leader exited: a pool process may
            # outlive its parent.
            child.signal_group(signal.SIGKILL)
            child.process.wait()

    def _write_pids(self) -> None:
        """Record the children's pids, so operators (and the tests) can check them."""
        pids = {child.name: child.pid for child in self.children}
        self.layout.pids_file.write_text(json.dumps(pids), encoding="utf-8")


def wait_for_file(path: Path, child: Child, timeout: float) -> str:
    """The content of ``path`` once ``child`` writes it; RuntimeError if it dies first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return path.read_text(encoding="utf-8")
        if child.exited():
            raise RuntimeError(f"{child.name} exited at start:\n{child.log_tail()}")
        time.sleep(0.05)
    raise RuntimeError(f"{child.name} did not start within {timeout:.0f} s:\n{child.log_tail()}")
