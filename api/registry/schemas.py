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
    sha256: str = Field(description="sha256 of the rows as read (a source's: canonical CSV)")
    rows: int
    source: str | None = Field(default=None, description="the data source, if read from one")
    table: str | None = Field(default=None, description="the source's table it was read from")
    query: str | None = Field(
        default=None, description="the source query it was read from; admins only"
    )


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
