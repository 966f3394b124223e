"""Service processes: API server, Celery worker, reaper, Flower, and all of them at once."""

from __future__ import annotations

import ipaddress
import os
import sys

import typer

from api.commands.reaper import reaper
from api.config import DEV_SECRET_KEY, get_settings
from api.standalone.command import standalone


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("worker")(worker)
    app.command("reaper")(reaper)
    app.command("flower")(flower)
    app.command("standalone")(standalone)


def serve(
    host: str = typer.Option("127.0.0.1", help="address to bind"),
    port: int = typer.Option(8000, help="port to bind"),
    workers: int = typer.Option(1, help="API processes"),
) -> None:
    """Run the HTTP API.

    Refuses to listen beyond this machine with the development secret key:
    that key is public, so anyone could forge an admin token with it."""
    _refuse_public_development_key(host)
    import uvicorn

    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_config=None,
    )


def is_loopback(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to any address


def _refuse_public_development_key(host: str) -> None:
    if is_loopback(host) or get_settings().secret_key.get_secret_value() != DEV_SECRET_KEY:
        return
    typer.echo(
        f"error: refusing to serve on {host} with the development secret key, which anyone "
        "can use to forge tokens; set TASADOR_SECRET_KEY, or bind to 127.0.0.1",
        err=True,
    )
    raise typer.Exit(2)


def worker(
    queues: str = typer.Option("training,inference,webhooks", help="comma-separated queues"),
    concurrency: int = typer.Option(1, help="worker processes"),
    pool: str = typer.Option("prefork", help="prefork, threads or solo"),
    hostname: str | None = typer.Option(
        None, help="node name, e.g. training@%h; needed when two workers share a host"
    ),
) -> None:
    """Run a Celery worker for the given queues."""
    argv = [sys.executable, "-m", "celery", "-A", "worker.app", "worker", "-Q", queues]
    argv += ["-c", str(concurrency), "--pool", pool, "-l", get_settings().log_level]
    if hostname:
        argv += ["--hostname", hostname]
    os.execv(sys.executable, argv)  # noqa: S606


def flower(
    port: int = typer.Option(5555, help="port to bind"),
    address: str = typer.Option("127.0.0.1", help="address to bind"),
) -> None:
    """Run the Flower dashboard for the workers, behind basic auth."""
    settings = get_settings()
    credentials = f"{settings.flower_user}:{settings.flower_password.get_secret_value()}"
    # Through the environment, so the password does not show in the process list.
    env = {**os.environ, "FLOWER_BASIC_AUTH": credentials}
    argv = [sys.executable, "-m", "celery", "-A", "worker.app", "flower"]
    argv += [f"--port={port}", f"--address={address}"]
    os.execve(sys.executable, argv, env)  # noqa: S606
