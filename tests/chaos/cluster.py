"""The whole service as real processes, on private servers, for one chaos session.

Built on the benchmark harness (``tests.perf.stack.Stack``: process spawning,
workers, teardown by process group) with what chaos needs on top: its own
Postgres and Redis that a test may stop, restart or flush, secrets everywhere
a real deployment has them (so the last test can look for them in the logs),
short job timings, workers that come and go, and a log directory whose tails
are shown when a test fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.chaos.services import PrivatePostgres, PrivateRedis
from tests.chaos.settings import ADMIN, BUCKET, deployment_secrets, environment
from tests.perf.stack import ROOT, Service, Stack, _tail, _wait_for_port, free_port

DATABASE = "tasador_chaos"


def tasador() -> list[str]:
    script = Path(sys.executable).with_name("tasador")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from api.cli import app; app(prog_name='tasador')"]


@dataclass
class Cluster(Stack):
    """``with Cluster() as cluster:``; everything is stopped and removed on exit."""

    work: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="tasador-chaos-")))
    secrets: dict[str, str] = field(default_factory=dict)
    workers: list[Service] = field(default_factory=list)
    paused: set[int] = field(default_factory=set)
    postgres: PrivatePostgres | None = None
    redis: PrivateRedis | None = None
    api: Service | None = None
    api_ports: dict[str, int] = field(default_factory=dict)
    s3_url: str = ""
    api_key: str = ""
    worker_count: int = 0
    keep: bool = False
    reaper_process: bool = False

    def __repr__(self) -> str:  # the generated one would print every secret
        return f"Cluster(api={self.api_url!r}, logs={str(self.logs)!r})"

    # ------------------------------------------------------------------ lifecycle

    def _start(self) -> None:
        self.logs = self.work / "logs"
        self.logs.mkdir(parents=True)
        os.chmod(self.work, 0o755)
        self.keep = os.environ.get("TASADOR_CHAOS_KEEP") == "1"
        self.secrets = deployment_secrets()
        self.postgres = PrivatePostgres(
            self.work / "postgres", self.logs, self.secrets["postgres password"]
        )
        self.postgres.init()
        self.postgres.start()
        self.postgres.create_database(DATABASE)
        self.redis = PrivateRedis(self.work / "redis", self.logs, self.secrets["redis password"])
        self.redis.start()
        self.database_url = self.postgres.url(DATABASE)
        s3_port = free_port()
        self.s3_url = f"http://127.0.0.1:{s3_port}"
        self.env = environment(self.work, self.database_url, self.redis, self.s3_url, self.secrets)
        moto = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(s3_port)]
        _wait_for_port(s3_port, self.spawn("moto", moto).proc, self.logs / "moto.log", 30)
        self.s3().create_bucket(Bucket=BUCKET)
        self.run_command("db", "upgrade")
        self.run_command("users", "bootstrap-admin")
        reaper = None
        if self.run_command("reaper", "--help", check=False) == 0:
            reaper = self.spawn("reaper", [*tasador(), "reaper"])  # recovery without a worker
        self.api = self.start_api_process("api", "json")
        self.api_url = self.url_of(self.api)
        self._log_in()
        if reaper is not None and reaper.proc.poll() is not None:
            raise RuntimeError(
                f"tasador reaper exited {reaper.proc.returncode}:\n{_tail(reaper.log)}"
            )
        self.reaper_process = reaper is not None

    def close(self) -> None:
        for pgid in list(self.paused):
            self.resume(pgid)  # a stopped process would not act on SIGTERM
        super().close()
        self.workers.clear()
        for server in (self.redis, self.postgres):
            if server is not None:
                try:
                    server.stop()
                except Exception as exc:  # keep tearing down the rest
                    print(f"chaos teardown: {exc}", file=sys.stderr)
        if self.keep:
            print(f"chaos logs kept in {self.logs}", file=sys.stderr)
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    def heal(self) -> None:
        """After a test, whatever it failed to undo: paused workers, stopped servers."""
        for pgid in list(self.paused):
            self.resume(pgid)
        if self.postgres is not None and not self.postgres.running():
            self.postgres.start()
        if self.redis is not None and not self.redis.alive():
            self.redis.start()

    def run_command(self, *args: str, check: bool = True) -> int:
        with (self.logs / "commands.log").open("ab") as out:
            code = subprocess.call([*tasador(), *args], cwd=ROOT, env=self.env, stdout=out,
                                   stderr=subprocess.STDOUT, timeout=120)  # fmt: skip
        if check and code != 0:
            log = _tail(self.logs / "commands.log")
            raise RuntimeError(f"tasador {' '.join(args)} exited {code}:\n{log}")
        return code

    # ------------------------------------------------------------------ API

    def start_api_process(self, name: str, log_format: str) -> Service:
        port = free_port()
        env = {**self.env, "TASADOR_LOG_FORMAT": log_format}
        argv = [*tasador(), "serve", "--host", "127.0.0.1", "--port", str(port)]
        api = self.spawn(name, argv, env)
        self.api_ports[name] = port
        _wait_for_port(port, api.proc, api.log, 60)
        return api

    def url_of(self, api: Service) -> str:
        return f"http://127.0.0.1:{self.api_ports[api.name]}"

    def _log_in(self) -> None:
        form = {"username": ADMIN, "password": self.secrets["admin password"]}
        answer = httpx.post(f"{self.api_url}/v1/auth/token", data=form, timeout=30)
        answer.raise_for_status()
        self.token = answer.json()["access_token"]
        self.secrets["access token"] = self.token
        self.secrets["refresh token"] = answer.json()["refresh_token"]
        with self.client() as client:
            key = client.post("/v1/api-keys", json={"name": "chaos", "expires_in_days": 1})
            key.raise_for_status()
            self.api_key = self.secrets["api key"] = key.json()["key"]
            webhook = client.get("/v1/webhooks/secret")
            webhook.raise_for_status()
            self.secrets["webhook secret"] = webhook.json()["secret"]

    def s3(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3", endpoint_url=self.s3_url, region_name="us-east-1",
            aws_access_key_id="chaos", aws_secret_access_key=self.secrets["aws secret key"],
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
        )  # fmt: skip

    # ------------------------------------------------------------------ workers

    def add_worker(self, env: dict[str, str] | None = None) -> Service:
        """A worker on every queue, one pool process; every second one logs text."""
        self.worker_count += 1
        log_format = "text" if self.worker_count % 2 == 0 else "json"
        worker_env = {**self.env, "TASADOR_LOG_FORMAT": log_format, **(env or {})}
        worker = self.start_worker(f"w{self.worker_count}", concurrency=1, env=worker_env)
        self.workers.append(worker)
        return worker

    def live_workers(self) -> list[Service]:
        self.workers = [w for w in self.workers if w.proc.poll() is None]
        return [w for w in self.workers if w.proc.pid not in self.paused]

    def ensure_workers(self, count: int) -> list[Service]:
        while len(self.live_workers()) < count:
            self.add_worker()
        return self.live_workers()

    def stop_workers(self) -> None:
        for worker in list(self.workers):
            self.resume(worker.proc.pid)
            self.stop(worker)
        self.workers.clear()

    def kill(self, service: Service) -> None:
        """SIGKILL the whole process group: the worker and its pool children."""
        os.killpg(service.proc.pid, signal.SIGKILL)
        service.proc.wait(10)
        self.stop(service)

    def pause(self, pgid: int) -> None:
        os.killpg(pgid, signal.SIGSTOP)
        self.paused.add(pgid)

    def resume(self, pgid: int) -> None:
        if pgid in self.paused:
            self.paused.discard(pgid)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGCONT)

    def worker_running(self, job_id: str, timeout: float = 60) -> Service:
        """The worker whose log says it started ``job_id`` (the latest such worker)."""
        deadline = time.monotonic() + timeout
        while True:
            for worker in reversed(self.workers):
                for line in worker.log.read_text(errors="replace").splitlines():
                    if "job_started" in line and job_id in line:
                        return worker
            if time.monotonic() > deadline:
                raise AssertionError(f"no worker started job {job_id} within {timeout:.0f} s")
            time.sleep(0.1)

    def pids(self) -> dict[str, int]:
        """Every process the cluster runs now, by name (to tell a restart)."""
        named = {s.name: s.proc.pid for s in self.services if s.proc.poll() is None}
        if self.redis is not None and self.redis.service is not None:
            named["redis"] = self.redis.service.proc.pid
        return named
