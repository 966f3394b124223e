"""Sources for the offline CLI: a database URL with the rows to read after ``#``.

``postgresql+psycopg://user@host/db#table=listings`` reads a table;
``#table=sales.listings&columns=net_usable_area:usable_m2,price:price_uf``
maps features to columns; ``#query=SELECT ...`` runs a query (the operator
owns the database: no registration, no role check). Reads go through the same
catalogue checks, read-only transaction and server-side cursor as jobs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qsl

from pydantic import ValidationError

from api.errors import InvalidInput
from api.sources.connection import Target, parse_url
from api.sources.rows import open_rows
from api.sources.schemas import SourceInput

_KEYS = ("table=", "query=")


def is_database_location(text: str) -> bool:
    head, sep, fragment = text.rpartition("#")
    return bool(sep) and "://" in head and fragment.startswith(_KEYS)


def parse_location(text: str) -> tuple[Target, SourceInput]:
    head, _, fragment = text.rpartition("#")
    fields = dict(parse_qsl(fragment, keep_blank_values=True))
    columns = None
    if fields.get("columns"):
        pairs = [pair.partition(":") for pair in fields["columns"].split(",")]
        if any(not sep for _, sep, _ in pairs):
            raise InvalidInput("columns= is feature:column pairs separated by commas")
        columns = {feature.strip(): column.strip() for feature, _, column in pairs}
    try:
        spec = SourceInput(
            source="cli", table=fields.get("table"), query=fields.get("query"), columns=columns
        )
    except ValidationError as exc:
        raise InvalidInput(f"#{fragment}: {exc.errors()[0]['msg']}") from exc
    return Target("database", parse_url(head), writable=False), spec


@contextmanager
def open_database_rows(text: str, *, require_target: bool) -> Iterator[object]:
    target, spec = parse_location(text)
    with open_rows(target, spec, require_target=require_target) as stream:
        yield stream
