"""Bodies of the datasets API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final

from pydantic import BaseModel, ConfigDict

NAME_MAX_LENGTH: Final[int] = 255  # datasets.name


class DatasetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    uri: str
    rows: int
    columns: list[str]
    sha256: str
    size_bytes: int
    created_at: datetime
