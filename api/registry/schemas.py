"""Bodies of the models API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class TrainingDataOut(BaseModel):
    uri: str
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
    artifact_uri: str
    aliases: list[str]
    job_id: uuid.UUID | None


class AliasIn(BaseModel):
    version: int = Field(ge=1)


class AliasOut(BaseModel):
    alias: str
    version: int
    previous_version: int | None
