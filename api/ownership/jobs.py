"""The locations a job reads and writes, checked for its owner.

Submit checks a request for the caller (``api.jobs.submission``). The worker
asks again, through :func:`authorize_training` and :func:`authorize_batch`,
before it reads or writes anything: with the owner's role as it is when the
job runs, so neither a job row that never went through submit nor a role taken
away since lets a job reach a location its owner may not use. A refusal fails
the job with ``access_denied`` (or ``forbidden`` for promotion).

Locations the service picks for itself from the registry (the model artifact a
batch job predicts with, the one training writes) are not the caller's choice
and are not checked here.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from api.db.session import session_scope
from api.ownership.layout import default_output, errors_uri
from api.ownership.principal import Principal, load_principal
from api.ownership.rules import Promote, check_read, check_write, promotion_mode
from api.ownership.sources import check_source_read, is_source

# A job's data location: an s3:// URI, or a source location (``{"source": ..., ...}``).
Location = str | Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class TrainingAccess:
    train_data: Location
    test_data: Location | None
    promote: Promote


@dataclass(frozen=True, slots=True)
class BatchAccess:
    input_data: Location
    output_data: Location
    errors_data: str | None  # None for a table output: its errors go to ``<table>_errors``


def check_location(principal: Principal, location: object, field: str) -> Location:
    """The location ``field`` names, if ``principal`` may read it; raises if not."""
    if is_source(location):
        assert isinstance(location, Mapping)
        check_source_read(principal, location, field)
        return location
    check_read(principal, str(location), field)
    return str(location)


def training_access(principal: Principal, request: Mapping[str, Any]) -> TrainingAccess:
    train_data = check_location(principal, request["train_data"], "train_data")
    test_data = request.get("test_data")
    test = check_location(principal, test_data, "test_data") if test_data else None
    promote = promotion_mode(principal, request.get("promote"))
    return TrainingAccess(train_data, test, promote)


def batch_access(
    principal: Principal, job_id: uuid.UUID, request: Mapping[str, Any]
) -> BatchAccess:
    input_data = check_location(principal, request["input_data"], "input_data")
    requested = request.get("output_data")
    if is_source(requested):
        assert isinstance(requested, Mapping)
        return BatchAccess(input_data, requested, None)  # the source must be writable
    output = str(requested or default_output(principal.user_id, job_id))
    errors = errors_uri(output)
    check_write(principal, output, "output_data")
    check_write(principal, errors, "output_data")
    return BatchAccess(input_data, output, errors)


def job_owner(owner_id: int) -> Principal:
    with session_scope() as session:
        return load_principal(session, owner_id)


def authorize_training(owner_id: int, request: Mapping[str, Any]) -> TrainingAccess:
    """What a training job may read and how it may promote; raises when refused."""
    return training_access(job_owner(owner_id), request)


def authorize_batch(owner_id: int, job_id: uuid.UUID, request: Mapping[str, Any]) -> BatchAccess:
    """Where a batch job reads and writes (the default output resolved); raises when refused."""
    return batch_access(job_owner(owner_id), job_id, request)
