"""Checking a job request before it is queued: who may use which data, inputs
exist, outputs are new, the model resolves.

Everything that can be known at submit time is checked here, so a client learns
of a typo in a URI, a location they may not use or an unknown model at once,
before any job exists, rather than from a failed job. The location rules
themselves live in ``api.ownership``; the worker asks them again before it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from api import ownership
from api.auth.identity import Account
from api.config import get_settings
from api.db.tables.job import Job, JobKind
from api.errors import Conflict, InvalidInput, NotFound
from api.jobs import service
from api.jobs.schemas import BatchJobIn, TrainingJobIn
from api.ml.intervals import has_intervals
from api.ml.presets import ParamError, resolve_params
from api.ownership import Principal
from api.registry import service as registry_service
from api.sources import service as sources_service
from api.sources.schemas import SourceInput, SourceOutput
from api.storage import get_store
from api.storage.errors import ObjectNotFound
from api.storage.recent import RecentObjects
from api.webhooks.urls import check_callback_url

# The app.state attribute holding an alias -> version lookup that needs no query.
KNOWN_ALIAS = "known_alias"
# Inputs seen to exist in the last second: a burst of submits on one file asks once.
RECENT_INPUTS = RecentObjects()


def _missing(field: str, uri: str) -> NotFound:
    # One answer for "no such object" and "another user's object", word for word.
    return NotFound(
        f"{field}: object not found: {uri}",
        code="data_not_found",
        details={"field": field, "uri": uri},
    )


def fingerprint_input(principal: Principal, uri: str, field: str) -> dict[str, Any]:
    """Size and etag of an input the caller may read; 403 or 404 when they may not."""
    try:
        ownership.check_read(principal, uri, field)
    except ownership.LocationDenied as exc:
        if exc.hidden:
            raise _missing(field, uri) from None
        raise
    try:
        info = RECENT_INPUTS.head(get_store(), uri, get_settings().input_check_cache_seconds)
    except ObjectNotFound as exc:
        if isinstance(exc.details, dict) and exc.details.get("bucket_missing"):
            raise NotFound(f"{field}: {exc.message}", code="data_not_found") from exc
        raise _missing(field, uri) from None
    return {"uri": uri, "etag": info.etag, "size": info.size}


def check_new_output(principal: Principal, output: str) -> None:
    """A caller-named output must be theirs to write and must not exist yet:
    no job ever replaces an object (the batch job's errors file included)."""
    targets = (output, ownership.errors_uri(output))
    for target in targets:
        ownership.check_write(principal, target, "output_data")
    store = get_store()
    for target in targets:
        if store.exists(target):
            raise Conflict(
                f"output_data: {target} already exists and jobs never replace an object; "
                "name a new location or leave output_data out and the server picks one",
                code="output_exists",
                details={"uri": target},
            )


def check_input(
    session: Session,
    principal: Principal,
    location: str | SourceInput,
    field: str,
    *,
    require_target: bool,
) -> dict[str, Any]:
    """A job input the caller may read and that exists: a URI or a source's rows."""
    if isinstance(location, str):
        return fingerprint_input(principal, location, field)
    ownership.check_source_read(principal, location.model_dump(exclude_none=True), field)
    return sources_service.check_job_input(session, location, field, require_target=require_target)


def check_intervals(session: Session, version: int) -> None:
    """409 interval_unavailable for a model trained without an interval calibration."""
    if not has_intervals(registry_service.get(session, version).metrics):
        raise Conflict(
            f"model version {version} was trained without interval calibration: "
            "retrain it, or leave out `interval`",
            code="interval_unavailable",
            details={"model_version": version},
        )


def submit_training(session: Session, user: Account, body: TrainingJobIn, key: str | None) -> Job:
    principal = Principal.of(user)
    promote = ownership.promotion_mode(principal, body.promote)  # 403 before anything else
    request = {**body.model_dump(exclude_none=True), "promote": promote.value}
    earlier = service.replay_for(session, user, key, JobKind.TRAINING, request)
    if earlier is not None:
        return earlier
    try:
        resolve_params(body.preset, body.params)
    except ParamError as exc:
        raise InvalidInput(str(exc), code="invalid_params") from exc
    if body.callback_url:
        check_callback_url(body.callback_url)
    inputs = {
        "train_data": check_input(
            session, principal, body.train_data, "train_data", require_target=True
        )
    }
    if body.test_data:
        inputs["test_data"] = check_input(
            session, principal, body.test_data, "test_data", require_target=True
        )
    job, _ = service.create(
        session, user, kind=JobKind.TRAINING, request=request, inputs=inputs, idempotency_key=key
    )
    return job


def submit_batch(
    session: Session,
    user: Account,
    body: BatchJobIn,
    key: str | None,
    known_alias: Callable[[str], int | None] | None = None,
) -> Job:
    """The batch job for ``body``, checked and inserted. ``known_alias`` may name an
    alias's version without a query (the API passes its serving state's alias
    snapshot, as fresh as the one predictions use); otherwise the registry is asked."""
    principal = Principal.of(user)
    request = body.model_dump(exclude_none=True)
    # A retried submit answers its first job even though that job's output now exists.
    earlier = service.replay_for(session, user, key, JobKind.BATCH_INFERENCE, request)
    if earlier is not None:
        return earlier
    if body.callback_url:
        check_callback_url(body.callback_url)
    inputs = {
        "input_data": check_input(
            session, principal, body.input_data, "input_data", require_target=False
        )
    }
    if isinstance(body.output_data, SourceOutput):
        sources_service.check_job_output(session, body.output_data)
    elif body.output_data:
        check_new_output(principal, body.output_data)
    version = _known(body.model, known_alias) or registry_service.resolve(session, body.model)
    if body.interval is not None:
        check_intervals(session, version)
    job, _ = service.create(
        session,
        user,
        kind=JobKind.BATCH_INFERENCE,
        request=request,
        inputs=inputs,
        idempotency_key=key,
        model_version=version,
    )
    return job


def _known(model: str | int | None, known_alias: Callable[[str], int | None] | None) -> int | None:
    """The version an alias (``production`` when none is named) has in the snapshot."""
    if known_alias is None or isinstance(model, int) or (model and model.isdigit()):
        return None
    return known_alias(model or registry_service.PRODUCTION)
