"""Request and response bodies for tokens and API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from api.constraints import Integer


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int = Field(description="Seconds until the access token expires.")


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=512)


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="A label to recognise the key.")
    expires_in_days: Integer = Field(ge=1, le=365, description="Lifetime in days (1 to 365).")


class ApiKeyOut(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="The first characters of the key, to tell keys apart.")
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None = Field(description="Accurate to about a minute.")


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself. It is shown only in this response.")
