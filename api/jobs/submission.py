"""Checking a job request before it is queued: inputs exist, model resolves.

Everything that can be known at submit time is checked here, so a client learns
of a typo in a URI or an unknown model at once rather than from a failed job.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from api.config import get_settings
from api.db.tables.job import Job
from api.db.tables.user import User
from api.errors import InvalidInput
from api.jobs import service, state
from api.jobs.schemas import BatchJobIn, TrainingJobIn
from api.ml.presets import ParamError, resolve_params
from api.registry import service as registry
from api.storage import ensure_readable, get_store, parse_uri
from api.storage.errors import ObjectNotFound
from api.webhooks.urls import check_callback_url


def fingerprint_input(uri: str, field: str) -> dict[str, Any]:
    """Size and etag of an input object; a clear 422 when it cannot be read."""
    settings = get_settings()
    parse_uri(uri)
    ensure_readable(uri, settings)
    try:
        info = get_store().head(uri)
    except ObjectNotFound as exc:
        raise InvalidInput(f"{field}: {exc.message}", code="data_not_found") from exc
    return {"uri": uri, "etag": info.etag, "size": info.size}


def submit_training(session: Session, user: User, body: TrainingJobIn, key: str | None) -> Job:
    try:
        resolve_params(body.preset, body.params)
    except ParamError as exc:
        raise InvalidInput(str(exc), code="invalid_params") from exc
    if body.callback_url:
        check_callback_url(body.callback_url)
    inputs = {"train_data": fingerprint_input(body.train_data, "train_data")}
    if body.test_data:
        inputs["test_data"] = fingerprint_input(body.test_data, "test_data")
    request = body.model_dump(exclude_none=True)
    job, _ = service.create(
        session, user, kind=state.KIND_TRAINING, request=request, inputs=inputs, idempotency_key=key
    )
    return job


def default_output(input_uri: str, job_id: str, suffix: str) -> str:
    """Next to the input: ``data.csv`` -> ``data.<suffix>-<job id>.csv``."""
    address = parse_uri(input_uri)
    stem = address.key[:-4] if address.key.lower().endswith(".csv") else address.key
    return f"s3://{address.bucket}/{stem}.{suffix}-{job_id}.csv"


def submit_batch(session: Session, user: User, body: BatchJobIn, key: str | None) -> Job:
    if body.callback_url:
        check_callback_url(body.callback_url)
    inputs = {"input_data": fingerprint_input(body.input_data, "input_data")}
    if body.output_data:
        parse_uri(body.output_data)
    version = registry.resolve(session, body.model)
    request = body.model_dump(exclude_none=True)
    job, _ = service.create(
        session,
        user,
        kind=state.KIND_BATCH,
        request=request,
        inputs=inputs,
        idempotency_key=key,
        model_version=version.version,
    )
    return job
