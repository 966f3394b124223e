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
from api.ownership.rules import may_read


def is_source(location: object) -> bool:
    return isinstance(location, Mapping)


def may_read_rows_of(principal: Principal, lineage: Mapping[str, Any]) -> bool:
    """Whether ``principal`` may read the rows a model version was trained on, as
    its lineage names them: a location they may read, a registered source's table
    (every signed-in user may); an admin's query, or anything for admins."""
    uri = lineage.get("uri")
    if principal.is_admin or (isinstance(uri, str) and may_read(principal, uri)):
        return True
    return uri is None and bool(lineage.get("source")) and not lineage.get("query")


def check_source_read(principal: Principal, location: Mapping[str, Any], field: str) -> None:
    """403 ``forbidden`` when a member asks for a query instead of a table."""
    if location.get("query") is not None and not principal.is_admin:
        raise Forbidden(
            f"{field}: only admins run queries on a source; members name a table "
            '({"source": ..., "table": ...})',
            details={"field": field},
        )
