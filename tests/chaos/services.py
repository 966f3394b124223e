"""Private Postgres and Redis servers the chaos suite can stop, restart and flush.

The shared test servers must never be stopped, so the suite runs its own, on free
ports, with real passwords (scram for Postgres, ``requirepass`` for Redis): a
password that reaches a log line is then a leak the last test finds. As root,
Postgres runs as the ``postgres`` user (initdb refuses root), as in
``tests/with-services.sh``.
"""

from __future__ import annotations

import glob
import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import redis

from tests.perf.stack import Service, _tail, _wait_for_port, free_port


def _as_postgres(argv: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["su", "postgres", "-s", "/bin/bash", "-c", shlex.join(argv)]
    return argv


def _give_to_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres")


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if not found:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    return Path(found[-1])


class PrivatePostgres:
    """One cluster in ``work/pg``; ``stop`` and ``start`` keep its data."""

    def __init__(self, work: Path, logs: Path, password: str) -> None:
        self.bin = postgres_bin()
        self.work = work
        self.data = work / "pg"
        self.log = logs / "postgres.log"
        self.password = password
        self.port = free_port()
        work.mkdir(parents=True, exist_ok=True)
        _give_to_postgres(work)
        os.chmod(work, 0o755)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres:{self.password}@127.0.0.1:{self.port}/{database}"

    def _run(self, argv: list[str], timeout: float = 120) -> None:
        done = subprocess.run(_as_postgres(argv), capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(
                f"{argv[0]} failed:\n{done.stdout}\n{done.stderr}\n{_tail(self.log)}"
            )

    def init(self) -> None:
        pwfile = self.work / "pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        _give_to_postgres(pwfile)
        try:
            self._run([
                str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
                "-A", "scram-sha-256", f"--pwfile={pwfile}", "--no-sync",
            ])  # fmt: skip
        finally:
            pwfile.unlink()
        # The log file lives with the other logs; the server (as postgres) must write it.
        self.log.touch()
        _give_to_postgres(self.log)

    def start(self) -> None:
        # Durability is not under test: a crash of this throwaway cluster loses nothing.
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.work} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run([
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.log), "-w", "-t", "60", "start",
        ])  # fmt: skip

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def stop(self) -> None:
        if self.running():
            self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def create_database(self, name: str) -> None:
        from sqlalchemy import create_engine, text
        from sqlalchemy.pool import NullPool

        engine = create_engine(self.url(), poolclass=NullPool)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()


class PrivateRedis:
    """``redis-server`` as a child process, append-only like compose's, with a password."""

    def __init__(self, work: Path, logs: Path, password: str) -> None:
        self.work = work
        self.log = logs / "redis.log"
        self.password = password
        self.port = free_port()
        self.service: Service | None = None
        work.mkdir(parents=True, exist_ok=True)

    def url(self, db: int) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/{db}"

    def client(self, db: int) -> redis.Redis:
        return redis.Redis.from_url(self.url(db), socket_timeout=5)

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        argv = [
            binary, "--bind", "127.0.0.1", "--port", str(self.port), "--requirepass",
            self.password, "--save", "", "--appendonly", "yes", "--dir", str(self.work),
            "--logfile", str(self.log), "--daemonize", "no",
        ]  # fmt: skip
        with open(os.devnull, "wb") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=out, start_new_session=True)
        self.service = Service("redis", proc, self.log)
        _wait_for_port(self.port, proc, self.log, 30)
        deadline = time.monotonic() + 30
        while True:  # the port answers before the append-only file is loaded
            try:
                if self.client(0).ping():
                    return
            except redis.exceptions.BusyLoadingError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis did not become ready:\n{_tail(self.log)}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()
            self.service = None

    def alive(self) -> bool:
        return self.service is not None and self.service.proc.poll() is None
