"""Bodies of the models API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from api.constraints import DbInt


class TrainingDataOut(BaseModel):
    uri: str | None = Field(
        description="where the training data is; `null` for a member unless they may read it "
        "(their own datasets and outputs, readable buckets)"
    )
    sha256: str
    rows: int


class ModelVersionOut(BaseModel):
    version: int
    created_at: datetime
    preset: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    evaluation: dict[str, Any]
    training_data: TrainingDataOut
    artifact_uri: str | None = Field(
        description="where the model's artifact is stored; admins only (`null` for members)"
    )
    aliases: list[str]
    job_id: uuid.UUID | None


class AliasIn(BaseModel):
    version: DbInt


class AliasOut(BaseModel):
    alias: str
    version: int
    previous_version: int | None
