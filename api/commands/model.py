"""``tasador model``: the offline pipeline, usable without any server.

Exit codes: 0 success; 2 bad input: something given to read is missing or
wrong (a file, a model, a column, a row: the message names the file, row and
column) or a parameter is unknown or out of range; 1 anything else: an output
that cannot be written, an object store that does not answer. The output's
folder is checked before training, so a typo in ``--output`` fails at once
instead of after an hour of fitting.

Artifacts are signed with ``TASADOR_SECRET_KEY`` (HMAC-SHA256), as the service
signs its own; ``predict`` refuses, before unpickling anything, an artifact
whose signature does not verify with that key, unless ``--unsigned`` says the
file comes from a trusted place. Unpickling an untrusted file runs its code.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
import typer

from api.config import get_settings
from api.datasets.reading import CsvSummary, HashingReader, iter_chunks, problems_as_details
from api.errors import InvalidInput, NotFound, TasadorError
from api.jobs.execution.batch_io import predict_csv
from api.ml import artifact as artifacts
from api.ml.artifact import ArtifactError
from api.ml.bundle import IntervalUnavailable, compile_bundle
from api.ml.predictor import UnsupportedModel
from api.ml.presets import ParamError
from api.ml.training import TrainingDataError, train
from api.storage import StorageError, get_store, open_input, open_output

app = typer.Typer(help="Train and apply models offline.", no_args_is_help=True)

_SIGNATURE_HINT = (
    " (set TASADOR_SECRET_KEY to the key that signed it, or pass --unsigned for a file you trust)"
)
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
# Errors that mean "what you gave me is wrong", as opposed to "I could not finish".
BAD_INPUT_ERRORS = (InvalidInput, NotFound, ParamError, TrainingDataError, ArtifactError)


def _signing_key() -> bytes:
    return get_settings().secret_key.get_secret_value().encode()


def _location(path_or_uri: str) -> str | Path:
    return path_or_uri if "://" in path_or_uri else Path(path_or_uri)


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _message(exc: Exception) -> str:
    return exc.message if isinstance(exc, TasadorError) else str(exc)


def _exit_for_input(exc: Exception) -> typer.Exit:
    code = EXIT_BAD_INPUT if isinstance(exc, BAD_INPUT_ERRORS) else EXIT_FAILURE
    return _fail(_message(exc), code)


def _prepare_output(path_or_uri: str) -> contextlib.AbstractContextManager[BinaryIO]:
    """The writable for an output, checked now; nothing is created until it is entered.

    A malformed URI is bad input (2); a folder that does not exist is a place
    that cannot be written (1).
    """
    try:
        return open_output(_location(path_or_uri))
    except InvalidInput as exc:
        raise _fail(exc.message) from exc
    except TasadorError as exc:
        raise _fail(exc.message, EXIT_FAILURE) from exc


def _named(path_or_uri: str, exc: InvalidInput) -> InvalidInput:
    """``exc`` with the file named first, unless its message already names it."""
    if isinstance(exc, StorageError) or path_or_uri in exc.message:
        return exc
    return InvalidInput(f"{path_or_uri}: {exc.message}", details=exc.details)


def _read_training(path_or_uri: str) -> tuple[pd.DataFrame, str, int]:
    summary = CsvSummary()
    frames = []
    try:
        with open_input(_location(path_or_uri)) as raw:
            hashing = HashingReader(raw)
            for chunk in iter_chunks(hashing, require_target=True):  # type: ignore[arg-type]
                frames.append(chunk.valid)
                summary.rows += len(chunk.raw)
                summary.problem_count += len(chunk.problems)
                summary.problems.extend(chunk.problems[: max(0, 20 - len(summary.problems))])
    except InvalidInput as exc:
        raise _named(path_or_uri, exc) from exc
    if summary.problem_count:
        lines = [
            f"  row {p['row']}, column {p['column']}: {p['reason']}"
            for p in problems_as_details(summary)["problems"]
        ]
        raise InvalidInput(
            f"{path_or_uri}: {summary.problem_count} invalid row(s); first ones:\n"
            + "\n".join(lines)
        )
    if summary.rows == 0:
        raise InvalidInput(f"{path_or_uri}: no data rows")
    return pd.concat(frames, ignore_index=True), hashing.digest.hexdigest(), summary.rows


def _parse_params(pairs: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"--param {pair!r}: expected name=value")
        try:
            params[name.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[name.strip()] = value  # a bare word such as loss=huber
    return params


def _show_progress() -> Callable[[float], None]:
    """A one-line progress bar on stderr, redrawn at each whole percent."""
    shown = -1

    def show(fraction: float) -> None:
        nonlocal shown
        percent = min(100, int(fraction * 100))
        if percent == shown:
            return
        shown = percent
        bar = "#" * (percent // 5) + "." * (20 - percent // 5)
        sys.stderr.write(f"\rtraining [{bar}] {percent:3d}%" + ("\n" if percent == 100 else ""))
        sys.stderr.flush()

    return show


def _remove(path_or_uri: str) -> None:
    location = _location(path_or_uri)
    if isinstance(location, Path):
        location.unlink(missing_ok=True)
    else:
        get_store().delete(location)


@app.command("train")
def train_command(
    train_data: str = typer.Option(..., help="training CSV: a path or an s3:// URI"),
    test_data: str | None = typer.Option(None, help="held-out CSV to evaluate on"),
    preset: str = typer.Option("default", help="default or notebook"),
    param: list[str] = typer.Option([], help="hyperparameter override, name=value (repeatable)"),
    output: str = typer.Option(..., help="where to write the model artifact"),
) -> None:
    """Train a model, print its metrics as one JSON object, write the artifact.

    Without --test-data the metrics come from a seeded 20 % hold-out of the
    training data (the JSON says so under "evaluation")."""
    sink = _prepare_output(output)
    try:
        params = _parse_params(param)
        frame, sha256, rows = _read_training(train_data)
        test = _read_training(test_data)[0] if test_data else None
        result = train(frame, preset=preset, params=params, test_df=test, progress=_show_progress())
    except (*BAD_INPUT_ERRORS, TasadorError) as exc:
        raise _exit_for_input(exc) from exc
    artifact = artifacts.ModelArtifact.from_training(
        result, {"uri": train_data, "sha256": sha256, "rows": rows}
    )
    try:
        with sink as out:
            artifacts.dump(artifact, out, signing_key=_signing_key())
    except TasadorError as exc:
        raise _fail(exc.message, EXIT_FAILURE) from exc
    report = {**result.metrics, "evaluation": result.evaluation, "preset": result.preset}
    typer.echo(json.dumps(report))
    typer.echo(f"model written to {output}", err=True)


@app.command("predict")
def predict_command(
    model: str = typer.Option(..., help="artifact written by `tasador model train`"),
    input: str = typer.Option(..., help="CSV to predict: a path or an s3:// URI"),
    output: str = typer.Option(..., help="where to write the input rows plus price_pred"),
    errors: str | None = typer.Option(None, help="where invalid rows go (default: next to output)"),
    chunk_rows: int = typer.Option(100_000, min=1, help="rows read at a time"),
    interval: float | None = typer.Option(
        None, min=0.5, max=0.99, help="also write price_lower and price_upper at this level"
    ),
    unsigned: bool = typer.Option(
        False, "--unsigned", help="load a model without checking its signature (trusted files only)"
    ),
) -> None:
    """Predict every valid row; invalid rows go to a separate errors CSV with reasons.

    The model's signature is checked with TASADOR_SECRET_KEY first."""
    errors = errors or (output[:-4] if output.endswith(".csv") else output) + ".errors.csv"
    try:
        with open_input(_location(model)) as raw:
            # A zip is read from its end: an S3 body cannot seek, so take it whole.
            data = raw.read()
        artifact = artifacts.from_bytes(data, signing_key=None if unsigned else _signing_key())
        bundle = compile_bundle(artifact)
        ranges = None if interval is None else (interval, bundle.require_intervals())
    except artifacts.SignatureError as exc:
        raise _fail(f"{model}: {exc}{_SIGNATURE_HINT}") from exc
    except (ArtifactError, UnsupportedModel, IntervalUnavailable) as exc:
        raise _fail(f"{model}: {exc}") from exc
    except TasadorError as exc:
        raise _exit_for_input(exc) from exc
    out_sink, err_sink = _prepare_output(output), _prepare_output(errors)
    with contextlib.ExitStack() as stack:
        try:
            src = stack.enter_context(open_input(_location(input)))
        except TasadorError as exc:
            raise _exit_for_input(exc) from exc
        try:
            out, err = stack.enter_context(out_sink), stack.enter_context(err_sink)
            counts = predict_csv(
                src, out, err, bundle.predictor, chunk_rows=chunk_rows, intervals=ranges
            )
        except InvalidInput as exc:  # the input's header or CSV syntax
            raise _fail(_named(input, exc).message) from exc
        except TasadorError as exc:  # writing, or the store failing mid-way
            raise _fail(exc.message, EXIT_FAILURE) from exc
    if not counts.failed:
        _remove(errors)  # no file of headers alone: "errors": null means there is none
    typer.echo(
        json.dumps({"rows": counts.predicted, "failed_rows": counts.failed, "output": output,
                    "errors": errors if counts.failed else None})
    )  # fmt: skip
    if counts.failed:
        typer.echo(f"{counts.failed} invalid row(s) written to {errors}", err=True)
