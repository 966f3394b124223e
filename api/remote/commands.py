"""``tasador remote ...``: log in, upload, train, run batch jobs, predict, manage jobs.

Answers are printed as JSON on standard output; progress goes to standard
error. Exit codes as the offline commands: 0 success; 2 the service refused
the request (a 4xx: bad input, not logged in, not allowed, not found); 1
anything else (no answer, a server error, a job that failed or was cancelled).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from api.remote.client import Login, Remote, RemoteError, log_in

app = typer.Typer(help="Use a Tasador service over HTTP.", no_args_is_help=True)
datasets_app = typer.Typer(help="Your datasets.", no_args_is_help=True)
jobs_app = typer.Typer(help="Your jobs.", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")
app.add_typer(jobs_app, name="jobs")

EXIT_FAILED, EXIT_BAD_INPUT = 1, 2
F = TypeVar("F", bound=Callable[..., Any])

Wait = Annotated[bool, typer.Option("--wait", help="Wait for the job to end, showing progress.")]


def _reporting_errors(command: F) -> F:
    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except RemoteError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(EXIT_BAD_INPUT if exc.is_bad_input else EXIT_FAILED) from None

    return run  # type: ignore[return-value]


def _show(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2))


def _progress(job: dict[str, Any]) -> None:
    filled = round(20 * float(job.get("progress") or 0))
    bar = "#" * filled + "." * (20 - filled)
    end = "\n" if job["status"] in ("succeeded", "failed", "cancelled") else ""
    sys.stderr.write(f"\rjob {job['id']} [{bar}] {job['progress']:.0%} {job['status']:<10}{end}")
    sys.stderr.flush()


def _param(text: str) -> tuple[str, Any]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        typer.echo(f"error: --param {text!r}: expected name=value", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    try:
        return name, json.loads(value)
    except ValueError:
        return name, value


def _finish(remote: Remote, job: dict[str, Any], wait: bool) -> dict[str, Any]:
    if not wait:
        _show(job)
        return job
    done = remote.wait(job["id"], _progress)
    _show(done)
    if done["status"] != "succeeded":
        raise typer.Exit(EXIT_FAILED)
    return done


@app.command("login")
@_reporting_errors
def login_command(
    url: Annotated[str, typer.Option("--url", help="The service, e.g. http://localhost:8000.")],
    username: Annotated[str, typer.Option("--username")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Log in and save the tokens for the other commands."""
    password = (
        sys.stdin.readline().rstrip("\r\n")
        if password_stdin
        else typer.prompt("Password", hide_input=True)
    )
    path = log_in(url, username, password).save()
    typer.echo(f"logged in to {url} as {username} (saved in {path})")


@datasets_app.command("upload")
@_reporting_errors
def upload_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A CSV file.")],
    name: Annotated[str | None, typer.Option("--name")] = None,
) -> None:
    """Upload a CSV; prints the dataset, whose `uri` jobs take."""
    with Remote(Login.load()) as remote, file.open("rb") as data:
        form = {"name": name} if name else None
        files = {"file": (file.name, data, "text/csv")}
        _show(remote.json("POST", "/v1/datasets", files=files, data=form))


@app.command("train")
@_reporting_errors
def train_command(
    train_data: Annotated[str, typer.Argument(help="s3:// URI of the training CSV.")],
    preset: Annotated[str, typer.Option("--preset")] = "default",
    test_data: Annotated[str | None, typer.Option("--test-data")] = None,
    promote: Annotated[str | None, typer.Option("--promote")] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", help="A hyperparameter, name=value.")
    ] = None,
    wait: Wait = False,
) -> None:
    """Submit a training job (and with --wait, wait for it)."""
    params = dict(_param(text) for text in param or [])
    body: dict[str, Any] = {"train_data": train_data, "preset": preset, "params": params}
    body.update({k: v for k, v in (("test_data", test_data), ("promote", promote)) if v})
    with Remote(Login.load()) as remote:
        _finish(remote, remote.json("POST", "/v1/jobs/training", json=body), wait)


@app.command("batch")
@_reporting_errors
def batch_command(
    input_data: Annotated[str, typer.Argument(help="s3:// URI of the CSV to predict.")],
    model: Annotated[str, typer.Option("--model", help="Alias or version.")] = "production",
    wait: Wait = False,
    download: Annotated[
        Path | None, typer.Option("--download", help="With --wait: save the predictions here.")
    ] = None,
) -> None:
    """Submit a batch-inference job; --wait --download FILE saves its predictions."""
    body = {"input_data": input_data, "model": int(model) if model.isdigit() else model}
    with Remote(Login.load()) as remote:
        job = _finish(remote, remote.json("POST", "/v1/jobs/batch-inference", json=body), wait)
        if download is not None and wait:
            with download.open("wb") as out:
                for chunk in remote.download(f"/v1/jobs/{job['id']}/output"):
                    out.write(chunk)
            typer.echo(f"saved {job['result']['rows']} predictions in {download}", err=True)


@app.command("predict")
@_reporting_errors
def predict_command(
    instances: Annotated[
        Path, typer.Argument(help="A JSON file: a list of listings, or {instances: [...]}.")
    ],
    model: Annotated[str, typer.Option("--model")] = "production",
) -> None:
    """Value listings synchronously."""
    try:
        given = json.loads(instances.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        typer.echo(f"error: cannot read {instances}: {exc}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    body = given if isinstance(given, dict) else {"instances": given}
    body.setdefault("model", int(model) if model.isdigit() else model)
    with Remote(Login.load()) as remote:
        _show(remote.json("POST", "/v1/predictions", json=body))


@jobs_app.command("list")
@_reporting_errors
def jobs_list_command(
    status: Annotated[str | None, typer.Option("--status")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 20,
) -> None:
    """Your newest jobs."""
    params: dict[str, Any] = {"limit": limit, **({"status": status} if status else {})}
    with Remote(Login.load()) as remote:
        _show(remote.json("GET", "/v1/jobs", params=params)["items"])


@jobs_app.command("show")
@_reporting_errors
def jobs_show_command(job_id: str, wait: Wait = False) -> None:
    """One job (with --wait, once it has ended)."""
    with Remote(Login.load()) as remote:
        _finish(remote, remote.json("GET", f"/v1/jobs/{job_id}"), wait)


@jobs_app.command("cancel")
@_reporting_errors
def jobs_cancel_command(job_id: str) -> None:
    """Cancel a queued or running job."""
    with Remote(Login.load()) as remote:
        _show(remote.json("POST", f"/v1/jobs/{job_id}/cancel"))
