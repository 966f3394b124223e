"""The error envelope as an OpenAPI schema, and ``responses=`` for a route's errors.

Every error the API answers is ``{"error": {"code", "message", "details"}}``
(``api.errors.error_envelope``). ``errors(404, 409, ...)`` documents statuses a
route answers with that one ``Error`` schema; the statuses every route of a kind
answers (401 and 403 for signed-in routes, 422 for any input, ...) are added to
the document by ``api.openapi`` and need not be listed.
"""

from __future__ import annotations

from typing import Any, Final

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, such as `job_not_found`.")
    message: str = Field(description="What went wrong, for people.")
    details: Any = Field(
        default=None, description="Structured context (field errors, limits, ...), or `null`."
    )


class Error(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


DEFAULT_DESCRIPTIONS: Final[dict[int, str]] = {
    400: "Bad request",
    401: "`not_authenticated`, `invalid_token` or `token_expired`: no valid credential",
    403: "`forbidden` or `access_denied`: the credential may not do this",
    404: "Not found (or not yours)",
    405: "`method_not_allowed`",
    409: "Conflict with the current state",
    413: "`payload_too_large`: the body is over the limit",
    415: "`unsupported_media_type`",
    422: "`validation_error` or a domain code: the input is invalid (details say where)",
    429: "Too many requests; wait `Retry-After` seconds",
    503: "`unavailable`: a dependency is down; retry after `Retry-After` seconds",
}


def errors(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` documenting ``statuses`` with the ``Error`` schema.

    A description for a status may be given as ``s404="..."``; otherwise a
    generic one is used.
    """
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        text = descriptions.get(f"s{status}") or DEFAULT_DESCRIPTIONS.get(status, "Error")
        responses[status] = {"model": Error, "description": text}
    return responses
