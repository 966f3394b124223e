"""The rules for the client's databases: who may read and write registered sources.

Members may read the tables of registered sources (through a checked
``{"source", "table"}``) and write new tables to sources an admin registered as
writable; only admins run their own queries. Registering a source is an admin
route. A location is a source location when it is a mapping (a URI is a string).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.errors import Forbidden
from api.ownership.principal import Principal


def is_source(location: object) -> bool:
    return isinstance(location, Mapping)


def check_source_read(principal: Principal, location: Mapping[str, Any], field: str) -> None:
    """403 ``forbidden`` when a member asks for a query instead of a table."""
    if location.get("query") is not None and not principal.is_admin:
        raise Forbidden(
            f"{field}: only admins run queries on a source; members name a table "
            '({"source": ..., "table": ...})',
            details={"field": field},
        )
