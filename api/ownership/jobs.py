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


@dataclass(frozen=True, slots=True)
class TrainingAccess:
    train_data: str
    test_data: str | None
    promote: Promote


@dataclass(frozen=True, slots=True)
class BatchAccess:
    input_data: str
    output_data: str
    errors_data: str


def training_access(principal: Principal, request: Mapping[str, Any]) -> TrainingAccess:
    train_data = str(request["train_data"])
    check_read(principal, train_data, "train_data")
    test_data = request.get("test_data")
    if test_data:
        check_read(principal, str(test_data), "test_data")
    promote = promotion_mode(principal, request.get("promote"))
    return TrainingAccess(train_data, str(test_data) if test_data else None, promote)


def batch_access(
    principal: Principal, job_id: uuid.UUID, request: Mapping[str, Any]
) -> BatchAccess:
    input_data = str(request["input_data"])
    check_read(principal, input_data, "input_data")
    output = request.get("output_data") or default_output(principal.user_id, job_id)
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
