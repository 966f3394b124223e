"""Request and response bodies for users."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class UserOut(BaseModel):
    id: int
    username: str
    role: Literal["admin", "member"]
    created_at: datetime


class UserCreate(BaseModel):
    username: str = Field(max_length=64, description="3-64 characters; stored lower-cased.")
    password: str = Field(description="At least 12 characters, not the username.")
    role: Literal["admin", "member"] = "member"
