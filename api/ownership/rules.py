"""The rules: which locations a principal may read and write, and who may promote.

Members read their own datasets, their own jobs' outputs and the buckets the
operator lists in ``TASADOR_READABLE_BUCKETS``; they write only under their own
output prefix in the service's bucket. Admins may use any location the
service's credentials reach. The service's own objects (model artifacts) are
never a member's to read or write.

A refusal says what the caller may use instead. Another user's dataset or
output is refused as ``hidden``: the submit endpoints answer it exactly like a
missing object, so a member cannot probe which objects exist.
"""

from __future__ import annotations

import enum

from api.config import Settings, get_settings
from api.errors import Forbidden
from api.ownership.layout import Area, output_prefix, place_of
from api.ownership.principal import Principal
from api.storage.errors import AccessDenied, InvalidUri
from api.storage.uri import ObjectAddress, parse_uri


class Promote(enum.StrEnum):
    """What a finished training job does with the ``production`` alias."""

    IF_BETTER = "if_better"  # move it when the new model beats production on the same rows
    ALWAYS = "always"
    NEVER = "never"


class Refusal(enum.Enum):
    DENIED = "denied"  # not a location the principal may use
    HIDDEN = "hidden"  # another user's dataset or output: answered as if missing


class LocationDenied(AccessDenied):
    """A location the caller may not use (403 ``access_denied``).

    ``hidden`` marks another user's object; its message is the same as for any
    other refused location, so even the worker's job error reveals nothing.
    """

    def __init__(self, message: str, *, hidden: bool, details: object = None) -> None:
        super().__init__(message, details=details)
        self.hidden = hidden


def _readable_buckets(settings: Settings) -> list[str]:
    return sorted(set(settings.readable_buckets) - {settings.bucket})


def read_refusal(
    principal: Principal, address: ObjectAddress, settings: Settings | None = None
) -> Refusal | None:
    """``None`` when ``principal`` may read ``address``, else why not."""
    settings = settings or get_settings()
    if principal.is_admin:
        return None
    place = place_of(address, settings)
    if place.area is Area.ELSEWHERE:
        return None if address.bucket in _readable_buckets(settings) else Refusal.DENIED
    if place.area in (Area.DATASETS, Area.OUTPUTS):
        return None if place.owner_id == principal.user_id else Refusal.HIDDEN
    return Refusal.DENIED


def write_refusal(
    principal: Principal, address: ObjectAddress, settings: Settings | None = None
) -> Refusal | None:
    """``None`` when ``principal`` may write ``address``, else why not.

    Never ``HIDDEN``: refusing a write does not look at what exists, so the
    answer is the same whether or not someone's object is there.
    """
    settings = settings or get_settings()
    if principal.is_admin:
        return None
    place = place_of(address, settings)
    if place.area is Area.OUTPUTS and place.owner_id == principal.user_id:
        return None
    return Refusal.DENIED


def check_read(principal: Principal, uri: str, field: str) -> ObjectAddress:
    """The parsed address, or :class:`LocationDenied` naming what may be read."""
    settings = get_settings()
    address = parse_uri(uri)
    refusal = read_refusal(principal, address, settings)
    if refusal is None:
        return address
    readable = _readable_buckets(settings)
    buckets = ", ".join(f"s3://{b}/" for b in readable) or "none configured"
    raise LocationDenied(
        f"{field}: you may not read {uri}. A member reads their own datasets "
        f"(the uri from POST /v1/datasets), their own jobs' outputs "
        f"({output_prefix(principal.user_id, settings)}...) and the readable buckets "
        f"({buckets}).",
        hidden=refusal is Refusal.HIDDEN,
        details={"field": field, "uri": uri, "readable_buckets": readable},
    )


def check_write(principal: Principal, uri: str, field: str) -> ObjectAddress:
    """The parsed address, or :class:`LocationDenied` naming where to write instead."""
    settings = get_settings()
    address = parse_uri(uri)
    if write_refusal(principal, address, settings) is None:
        return address
    prefix = output_prefix(principal.user_id, settings)
    raise LocationDenied(
        f"{field}: you may not write {uri}. A member's jobs write only under {prefix}; "
        f"name a new key there or leave {field} out and the server picks one.",
        hidden=False,
        details={"field": field, "uri": uri, "writable_prefix": prefix},
    )


def may_read(principal: Principal, uri: str) -> bool:
    try:
        return read_refusal(principal, parse_uri(uri)) is None
    except InvalidUri:
        return False


def visible_uri(principal: Principal, uri: str | None) -> str | None:
    """``uri`` if ``principal`` may read it, else ``None``.

    Responses show a member only locations they could use: their own data,
    shared buckets. Artifact URIs and other users' data stay out of view.
    """
    if uri is None or not may_read(principal, uri):
        return None
    return uri


def promotion_mode(principal: Principal, requested: str | None) -> Promote:
    """The ``promote`` a training job runs with; moving ``production`` is an admin act.

    Unset means ``if_better`` for an admin and ``never`` for a member.
    """
    if requested is None:
        return Promote.IF_BETTER if principal.is_admin else Promote.NEVER
    mode = Promote(requested)
    if mode is not Promote.NEVER and not principal.is_admin:
        raise Forbidden(
            f"promote={mode.value!r} would move the shared production model, which only an "
            "admin may do; submit with promote 'never' (a member's default) and ask an "
            "admin to point an alias at the new version",
            details={"promote": mode.value, "allowed": [Promote.NEVER.value]},
        )
    return mode
