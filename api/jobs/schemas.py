"""Request and response bodies of the jobs API (see API.md, Jobs)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.db.tables.job import Job, JobKind, JobStatus
from api.ownership import Principal, Promote, visible_uri


class TrainingJobIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    train_data: str = Field(description="s3:// URI of the training CSV")
    test_data: str | None = Field(default=None, description="s3:// URI of a held-out test CSV")
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

    input_data: str = Field(description="s3:// URI of the CSV to predict")
    model: str | int = Field(default="production", description="alias or version number")
    output_data: str | None = Field(
        default=None,
        description="where to write predictions: a new key under your output prefix "
        "(`s3://<bucket>/outputs/<your user id>/`); left out, the server picks one there",
    )
    callback_url: str | None = None


class JobError(BaseModel):
    code: str
    message: str
    details: Any = None


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: JobKind
    status: JobStatus
    progress: float
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    request: dict[str, Any]
    result: dict[str, Any] | None
    error: JobError | None
    model_version: int | None = None

    @classmethod
    def seen_by(cls, job: Job, viewer: Principal) -> JobOut:
        """The job as ``viewer`` may see it: a location they may not read (a model
        artifact, for a member) is shown as ``null``."""
        out = cls.model_validate(job)
        if out.result and "artifact_uri" in out.result:
            uri = out.result["artifact_uri"]
            out.result = {**out.result, "artifact_uri": visible_uri(viewer, uri)}
        return out


class JobPage(BaseModel):
    items: list[JobOut]
    next_cursor: str | None
