"""Constrained request types shared by several routes.

Each carries the rule the server enforces into the OpenAPI document (a pattern,
a length, a range), so a client generated from it knows the rule, and input
that breaks it answers ``422`` before any service code runs. Integers are
strict: ``true`` is not ``1``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path
from pydantic import BeforeValidator, Field

from api.db.base import MAX_INT_ID

USERNAME_REGEX = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{2,63}$"
ALIAS_REGEX = r"^[a-z0-9-]{1,32}$"
# The scheme and a bucket name; the key's finer rules (no '..' or '//' segment)
# are checked by the server and answered with ``422 invalid_uri``.
OBJECT_URI_REGEX = r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/[^\x00-\x1f\x7f\\]+$"

# These three rules are stated in the document and checked by the services,
# which answer with their own codes (``invalid_username``, ``weak_password``,
# ``invalid_uri``) rather than a generic ``validation_error``.
Username = Annotated[
    str,
    Field(
        json_schema_extra={"pattern": USERNAME_REGEX},
        description="3-64 characters: letters, digits and `_ . @ -`, starting with a letter "
        "or digit; stored lower-cased (`422 invalid_username` otherwise)",
    ),
]
Password = Annotated[
    str,
    Field(
        json_schema_extra={"minLength": 12, "maxLength": 256},
        description="12 to 256 characters, not the username (`422 weak_password` otherwise)",
    ),
]
ObjectUri = Annotated[
    str,
    Field(
        json_schema_extra={"pattern": OBJECT_URI_REGEX, "maxLength": 1100},
        description="`s3://bucket/key` of an object (`422 invalid_uri` otherwise)",
    ),
]


def _not_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("must be an integer, not a boolean")  # pydantic reports a ValueError
    return value


def _iso_text(value: object) -> object:
    """Refuse the Unix timestamps pydantic would accept for a ``datetime``."""
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, int | float) or (
        isinstance(text, str) and text.lstrip("+-").replace(".", "", 1).isdigit()
    ):
        raise ValueError("must be an ISO 8601 date-time, such as 2026-01-31T12:00:00Z")
    return value


# A ``date-time`` as the document says, never a number of seconds.
IsoDateTime = Annotated[datetime, BeforeValidator(_iso_text)]

# An integer (``2`` or ``2.0``, as JSON Schema's ``integer`` allows), never ``true``.
Integer = Annotated[int, BeforeValidator(_not_bool)]
DbInt = Annotated[Integer, Field(ge=1, le=MAX_INT_ID)]
AliasName = Annotated[
    str, Path(pattern=ALIAS_REGEX, description="`production`, `staging` or any `[a-z0-9-]{1,32}`")
]
