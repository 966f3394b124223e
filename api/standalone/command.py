"""The ``tasador standalone`` command: broker, bootstrap, children, banner, shutdown."""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import httpx
import typer

from api.config import get_settings
from api.errors import TasadorError
from api.logging import configure_logging
from api.standalone import broker
from api.standalone.environment import (
    Layout,
    apply,
    broker_environment,
    settings_environment,
    wants_embedded_broker,
)
from api.standalone.runner import Child, Supervisor, wait_for_file

if TYPE_CHECKING:
    from api.standalone.banner import Endpoints

READY_TIMEOUT_SECONDS = 120.0


class StartupFailed(Exception):
    """A child died or did not answer while starting; the message says which."""


def standalone(
    data_dir: Annotated[
        Path,
        typer.Option("--data-dir", envvar="TASADOR_DATA_DIR", help="Where everything is kept."),
    ] = Path(".tasador"),
    api_port: Annotated[int, typer.Option("--api-port", help="Port of the HTTP API.")] = 8000,
    flower_port: Annotated[int, typer.Option("--flower-port", help="Port of Flower.")] = 5555,
    host: Annotated[str, typer.Option("--host", help="Address the API and Flower bind.")] = (
        "127.0.0.1"
    ),
    stop_timeout: Annotated[
        float, typer.Option("--stop-timeout", help="Seconds a process gets to stop on Ctrl-C.")
    ] = 10.0,
) -> None:
    """Run API, workers and Flower on this machine with nothing but Python.

    SQLite, the local object store and an in-memory broker live under the data
    directory unless TASADOR_DATABASE_URL, TASADOR_BROKER_URL or S3 settings
    name real services. The first start migrates, creates the admin, uploads a
    demo dataset and trains a first model. Ctrl-C stops every process.
    """
    # Imported here: they pull in pandas and the services, which every other
    # ``tasador`` command would otherwise pay for at start.
    from api.standalone import banner, bootstrap

    for port, option in ((api_port, "--api-port"), (flower_port, "--flower-port")):
        _refuse_busy_port(host, port, option)
    layout = Layout(data_dir.resolve())
    layout.create()
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    environ = dict(os.environ)
    added = settings_environment(layout, environ)
    supervisor = Supervisor(layout, {**environ, **added})
    broker_child: Child | None = None
    code = 0
    try:
        broker_child = _start_broker(supervisor, layout, environ, added)
        apply(added)
        supervisor.env.update(added)
        configure_logging()  # migration and bootstrap messages, on stderr
        logging.getLogger("httpx").setLevel(logging.WARNING)  # not every readiness probe
        outcome = bootstrap.run(layout)
        api = f"http://{_display(host)}:{api_port}"
        if not stop.is_set():
            _start_services(supervisor, host, api_port, flower_port)
            _wait_until_ready(supervisor, stop, api, host, flower_port)
        if not stop.is_set():
            typer.echo(banner.render(outcome, _endpoints(layout, api, host, flower_port)))
            code = _watch(supervisor, stop)
    except (StartupFailed, RuntimeError, TasadorError) as exc:
        typer.echo(f"error: {exc}", err=True)
        code = 1
    finally:
        typer.echo("stopping...", err=True)
        supervisor.stop_all(stop_timeout, last=broker_child)
        typer.echo("stopped.", err=True)
    raise typer.Exit(code)


def _start_broker(
    supervisor: Supervisor, layout: Layout, environ: dict[str, str], added: dict[str, str]
) -> Child | None:
    """The embedded broker, unless the environment names one; adds its URLs to ``added``."""
    if not wants_embedded_broker(environ):
        return None
    problem = broker.check_available()
    if problem is not None:
        raise StartupFailed(problem)
    argv = [sys.executable, "-m", "api.standalone.broker", str(layout.broker_port_file)]
    child = supervisor.start("broker", argv)
    port = int(wait_for_file(layout.broker_port_file, child, 30))
    added.update(broker_environment(port, environ))
    return child


def _refuse_busy_port(host: str, port: int, option: str) -> None:
    """Fail before starting anything, rather than with a child's log tail later."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # As the servers do; without it a port closed moments ago looks busy.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            typer.echo(
                f"error: cannot listen on {host}:{port} ({exc.strerror}); another "
                f"tasador standalone may be running, or choose another port with {option}",
                err=True,
            )
            raise typer.Exit(1) from None


def _start_services(supervisor: Supervisor, host: str, api_port: int, flower_port: int) -> None:
    # Two workers as in compose: a long training run never delays a batch job
    # or a webhook. Node names differ so Flower shows both.
    supervisor.start_command(
        "worker-training", "worker", "--queues", "training", "--concurrency", "1",
        "--hostname", "training@%h",
    )  # fmt: skip
    supervisor.start_command(
        "worker-default", "worker", "--queues", "inference,webhooks", "--concurrency", "2",
        "--hostname", "default@%h",
    )  # fmt: skip
    supervisor.start_command("api", "serve", "--host", host, "--port", str(api_port))
    supervisor.start_command("flower", "flower", "--address", host, "--port", str(flower_port))


def _wait_until_ready(
    supervisor: Supervisor, stop: threading.Event, api: str, host: str, flower_port: int
) -> None:
    """Until the API's /readyz answers 200 and Flower accepts connections."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    api_ready = flower_ready = False
    while not (api_ready and flower_ready):
        if stop.wait(0.25):
            return
        dead = supervisor.first_exited()
        if dead is not None:
            raise StartupFailed(f"{dead.name} exited while starting:\n{dead.log_tail()}")
        if time.monotonic() > deadline:
            waiting = [n for n, ok in (("api", api_ready), ("flower", flower_ready)) if not ok]
            raise StartupFailed(
                f"{' and '.join(waiting)} did not answer within {READY_TIMEOUT_SECONDS:.0f} s; "
                f"see the logs in {supervisor.layout.logs}"
            )
        api_ready = api_ready or _answers(f"{api}/readyz")
        flower_ready = flower_ready or _accepts(host, flower_port)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((_display(host), port), timeout=1.0):
            return True
    except OSError:
        return False


def _watch(supervisor: Supervisor, stop: threading.Event) -> int:
    """Until Ctrl-C (0) or a child dies on its own (1, with the end of its log)."""
    while not stop.wait(0.5):
        dead = supervisor.first_exited()
        if dead is not None:
            typer.echo(
                f"error: {dead.name} exited with code {dead.process.returncode}; "
                f"stopping the others. End of {dead.log_path}:\n{dead.log_tail()}",
                err=True,
            )
            return 1
    return 0


def _display(host: str) -> str:
    """An address clients can connect to (a wildcard bind is reached on loopback)."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104


def _endpoints(layout: Layout, api: str, host: str, flower_port: int) -> Endpoints:
    from api.standalone.banner import Endpoints

    settings = get_settings()
    return Endpoints(
        api=api,
        flower=f"http://{_display(host)}:{flower_port}",
        flower_user=settings.flower_user,
        flower_password=settings.flower_password.get_secret_value(),
        data_dir=layout.data_dir,
        admin_password_from_env=settings.admin_password is not None,
    )
