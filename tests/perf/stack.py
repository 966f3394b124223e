"""The services a benchmark runs against, started for one run and always torn down.

A dedicated ``<test database>_bench`` database on the test Postgres server (schema
dropped and migrated afresh), the two Redis databases of the test Redis, an S3 endpoint from
moto's server in a subprocess, one uvicorn API process (and, for the predict case,
the bare reference app of ``reference_app.py``) and Celery workers, all
configured through the same ``TASADOR_*`` environment. The harness process itself
also points its settings at them, so it can register models and read job rows.

Every process is started in its own session and stopped by process group, in
``Stack.close`` (called on normal exit, on failure and on Ctrl-C).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Self

import httpx
import redis
from sqlalchemy import URL, create_engine, make_url, text
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".tmp" / "bench"
BUCKET = "tasador-bench"
USERNAME = "bench"
PASSWORD = "bench-password-for-the-harness-only"
DEFAULT_DB_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/tasador_test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{log.name}: not listening on {port}:\n{_tail(log)}") from None
            time.sleep(0.1)


def _tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Service:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self, timeout: float = 15) -> None:
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        except ProcessLookupError:
            pass


def bench_urls() -> tuple[str, str, str]:
    """(database, broker, cache) URLs on the test servers.

    Derived from the test URLs (database ``<test database>_bench``; the test
    Redis database N for the cache and N-1 for the broker, as the tests use
    them), so checkouts configured with different test URLs can run benchmarks
    side by side without wiping each other's databases.
    """
    db = make_url(os.environ.get("TASADOR_TEST_DATABASE_URL", DEFAULT_DB_URL))
    base, index = os.environ.get("TASADOR_TEST_REDIS_URL", DEFAULT_REDIS_URL).rsplit("/", 1)
    bench_db = db.set(database=f"{db.database}_bench").render_as_string(hide_password=False)
    return bench_db, f"{base}/{int(index) - 1}", f"{base}/{index}"


def create_database_if_missing(target: URL) -> None:
    """Create ``target``'s database through the ``postgres`` maintenance database.

    (``tests.fixtures.db`` has the same for the tests; importing it here would load
    the application before the stack has set its environment.)"""
    admin = create_engine(target.set(database="postgres"), poolclass=NullPool)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
        ).scalar()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def _recreate_database(url: str) -> None:
    target = make_url(url)
    create_database_if_missing(target)
    engine = create_engine(target, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    from api.db.migrate import upgrade

    upgrade(url=url)


@dataclass
class Stack:
    """Start with ``with Stack() as stack:``; everything started is stopped on exit."""

    quick: bool = False
    env: dict[str, str] = field(default_factory=dict)
    services: list[Service] = field(default_factory=list)
    api_url: str = ""
    reference_url: str = ""
    token: str = ""
    api_key: str = ""
    user_id: int = 0
    database_url: str = ""
    logs: Path = WORK / "logs"

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> Self:
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        for service in reversed(self.services):
            service.stop()
        self.services.clear()

    def _start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        self.database_url, broker, cache = bench_urls()
        s3_port = free_port()
        self.env = {
            **os.environ,
            "TASADOR_ENV": "development",
            "TASADOR_DATA_DIR": str(WORK / "data"),
            "TASADOR_DATABASE_URL": self.database_url,
            "TASADOR_BROKER_URL": broker,
            "TASADOR_REDIS_URL": cache,
            "TASADOR_STORAGE_BACKEND": "s3",
            "TASADOR_S3_ENDPOINT_URL": f"http://127.0.0.1:{s3_port}",
            "TASADOR_BUCKET": BUCKET,
            "TASADOR_LOG_FORMAT": "json",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            self.env.pop(name, None)
        # This process uses the same settings (model registration, reading job rows).
        os.environ.clear()
        os.environ.update(self.env)
        from api.config import get_settings
        from api.storage import get_store, reset_store

        get_settings.cache_clear()
        reset_store()

        _recreate_database(self.database_url)
        redis.Redis.from_url(broker).flushdb()
        redis.Redis.from_url(cache).flushdb()
        moto = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)]
        _wait_for_port(s3_port, self.spawn("moto", moto).proc, self.logs / "moto.log", 30)
        get_store().ensure_bucket(BUCKET)
        self._create_user()
        self.start_api()

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Service:
        log = self.logs / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                argv, cwd=ROOT, env=env or self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        service = Service(name, proc, log)
        self.services.append(service)
        return service

    def service(self, name: str) -> Service:
        """The running service started as ``name`` (``api``, ``moto``, ...)."""
        return next(s for s in self.services if s.name == name)

    def stop(self, service: Service) -> None:
        service.stop()
        if service in self.services:
            self.services.remove(service)

    # ------------------------------------------------------------------ services

    def _uvicorn(self, name: str, app: list[str]) -> tuple[Service, str]:
        """One uvicorn process serving ``app``, and its URL, once it listens."""
        port = free_port()
        argv = [
            sys.executable, "-m", "uvicorn", *app, "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1", "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        server = self.spawn(name, argv)
        _wait_for_port(port, server.proc, server.log, 60)
        return server, f"http://127.0.0.1:{port}"

    def start_api(self) -> None:
        _, self.api_url = self._uvicorn("api", ["api.main:create_app", "--factory"])
        answer = httpx.post(
            f"{self.api_url}/v1/auth/token",
            data={"username": USERNAME, "password": PASSWORD},
            timeout=30,
        )
        answer.raise_for_status()
        self.token = answer.json()["access_token"]
        answer = httpx.post(
            f"{self.api_url}/v1/api-keys",
            json={"name": "bench", "expires_in_days": 1},
            headers=self.headers,
            timeout=30,
        )
        answer.raise_for_status()
        self.api_key = answer.json()["key"]

    def start_reference(self) -> Service:
        """The bare FastAPI app of ``tests/perf/reference_app.py``, served like the API
        (its URL in ``reference_url``)."""
        server, self.reference_url = self._uvicorn("reference", ["tests.perf.reference_app:app"])
        return server

    def start_worker(
        self, name: str, *, concurrency: int, queues: str = "training,inference,webhooks",
        extra: list[str] | None = None, env: dict[str, str] | None = None,
        cpu: int | None = None,
    ) -> Service:  # fmt: skip
        """A Celery worker (``env`` replaces the stack's; ``cpu`` pins it and its pool
        to that one core); returns once it logged ``ready.``."""
        pin = [] if cpu is None else ["taskset", "-c", str(cpu)]
        argv = [*pin,
            sys.executable, "-m", "celery", "-A", "worker.app", "worker", "-Q", queues,
            "-c", str(concurrency), "--pool", "prefork", "--without-gossip",
            "--without-mingle", "--without-heartbeat", "-l", "INFO",
            "-n", f"{name}-{os.getpid()}@%h", *(extra or []),
        ]  # fmt: skip
        worker = self.spawn(f"worker-{name}", argv, env)
        deadline = time.monotonic() + 90
        while "ready." not in worker.log.read_text(errors="replace"):
            if worker.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker {name} did not start:\n{_tail(worker.log)}")
            time.sleep(0.2)
        return worker

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def client(self, timeout: float = 60) -> httpx.Client:
        return httpx.Client(base_url=self.api_url, headers=self.headers, timeout=timeout)

    def _create_user(self) -> None:
        from api.db.session import session_scope
        from api.users.service import create_user

        with session_scope() as session:
            self.user_id = create_user(session, USERNAME, PASSWORD, "admin").id

    def engine(self) -> Any:
        return create_engine(self.database_url, poolclass=NullPool)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")
