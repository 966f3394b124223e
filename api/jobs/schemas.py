"""Request and response bodies of the jobs API (see docs/api.md, Jobs), and the
results a job records."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import MISSING, BaseModel, ConfigDict, Field

from api.constraints import ALIAS_REGEX, DbInt, ObjectUri
from api.db.tables.job import Job, JobKind, JobStatus
from api.ownership import Principal, Promote, visible_uri


class TrainingJobIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    train_data: ObjectUri = Field(description="s3:// URI of the training CSV")
    test_data: ObjectUri | None = Field(
        default=None, description="s3:// URI of a held-out test CSV"
    )
    preset: Literal["default", "notebook"] = "default"
    params: dict[str, Any] = Field(default_factory=dict)
    promote: Promote | None = Field(
        default=None,
        description="Whether the new model may become `production`. Admins only may ask "
        "for `if_better` (their default) or `always`; a member's jobs use `never`.",
    )
    callback_url: str | None = None


class BatchJobIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input_data: ObjectUri = Field(description="s3:// URI of the CSV to predict")
    model: DbInt | Annotated[str, Field(pattern=ALIAS_REGEX)] = Field(
        default="production", description="alias or version number"
    )
    output_data: ObjectUri | None = Field(
        default=None,
        description="where to write predictions: a new key under your output prefix "
        "(`s3://<bucket>/outputs/<your user id>/`); left out, the server picks one there",
    )
    interval: Annotated[float, Field(strict=True, ge=0.5, le=0.99, allow_inf_nan=False)] | None = (
        Field(
            default=None,
            description="add `price_lower` and `price_upper`: a range meant to hold the price "
            "with this probability (0.5 to 0.99)",
        )
    )
    callback_url: str | None = None


# A result holds the keys the job recorded and only those (``MISSING`` fields
# are left out): ``alias`` only when production moved, ``errors_data`` only
# when rows failed, and results of jobs from earlier versions lack the fields
# added since. ``artifact_uri`` is ``null`` when hidden from the viewer.


class TrainingResult(BaseModel):
    """What a succeeded training job recorded."""

    model_version: int | MISSING = Field(
        default=MISSING, description="the model version it registered"
    )
    metrics: dict[str, Any] | MISSING = Field(
        default=MISSING,
        description="rmse, mae, mape, median_ape and within_10pct on the evaluation rows; "
        "interval_80_coverage, interval_80_width, interval_90_coverage and interval_90_width "
        "when the model has prediction intervals",
    )
    evaluation: dict[str, Any] | MISSING = Field(
        default=MISSING,
        description="the rows the metrics come from: `on` is `test_data`, or `holdout` (a "
        "seeded share of `train_data`, with `fraction`, `seed` and `refit_on_all_rows`); `rows`",
    )
    artifact_uri: str | MISSING | None = Field(
        default=MISSING, description="where the model artifact is stored; `null` for members"
    )
    promoted: bool | MISSING = Field(default=MISSING, description="whether `production` moved")
    promotion: str | MISSING = Field(
        default=MISSING, description="why `production` moved to it or not"
    )
    alias: str | MISSING = Field(default=MISSING, description="the alias moved; only if promoted")


class BatchResult(BaseModel):
    """What a succeeded batch-inference job recorded."""

    output_data: str | MISSING = Field(
        default=MISSING, description="the predictions: every valid input row plus `price_pred`"
    )
    rows: int | MISSING = Field(default=MISSING, description="rows predicted")
    failed_rows: int | MISSING = Field(default=MISSING, description="invalid rows, not predicted")
    errors_data: str | MISSING = Field(
        default=MISSING,
        description="`row,column,reason` of every problem; only when rows failed",
    )
    model_version: int | MISSING = Field(
        default=MISSING, description="the model version that predicted"
    )
    input_sha256: str | MISSING = Field(
        default=MISSING, description="sha256 of `input_data` as it was read"
    )


JobResult = TrainingResult | BatchResult


def result_of(job: Job) -> JobResult | None:
    """The job's recorded result as its model (which one is told by the job's kind)."""
    if job.result is None:
        return None
    model = TrainingResult if job.kind == JobKind.TRAINING else BatchResult
    return model.model_validate(job.result)


class JobError(BaseModel):
    code: str
    message: str
    details: Any = None


class JobOut(BaseModel):
    id: uuid.UUID
    kind: JobKind
    status: JobStatus
    progress: float
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    request: dict[str, Any]
    result: TrainingResult | BatchResult | None = Field(
        description="set once the job succeeded: a training or a batch result, by `kind`"
    )
    error: JobError | None
    model_version: int | None = None

    @classmethod
    def seen_by(cls, job: Job, viewer: Principal) -> JobOut:
        """The job as ``viewer`` may see it: a location they may not read (a model
        artifact, for a member) is shown as ``null``."""
        result = result_of(job)
        if isinstance(result, TrainingResult) and isinstance(result.artifact_uri, str):
            result.artifact_uri = visible_uri(viewer, result.artifact_uri)
        return cls(
            id=job.id,
            kind=job.kind,
            status=job.status,
            progress=job.progress,
            attempts=job.attempts,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            request=job.request,
            result=result,
            error=JobError.model_validate(job.error) if job.error is not None else None,
            model_version=job.model_version,
        )


class JobPage(BaseModel):
    items: list[JobOut]
    next_cursor: str | None
