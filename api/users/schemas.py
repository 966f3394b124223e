"""Request and response bodies for users."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from api.constraints import Password, Username


class UserOut(BaseModel):
    id: int
    username: str
    role: Literal["admin", "member"]
    created_at: datetime


class UserCreate(BaseModel):
    username: Username
    password: Password
    role: Literal["admin", "member"] = "member"
