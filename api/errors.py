"""Domain errors and the one error envelope every HTTP answer uses.

A domain error carries its HTTP status and a stable machine code, so services
raise meaningfully without knowing about HTTP, and clients can branch on
``error.code`` without parsing messages.
"""

from __future__ import annotations

from typing import Any


class TasadorError(Exception):
    """Base of every error the service reports to a caller."""

    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        details: Any = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}
        if code is not None:
            self.code = code

    def envelope(self) -> dict[str, Any]:
        return error_envelope(self.code, self.message, self.details)


class InvalidInput(TasadorError):
    status_code = 422
    code = "invalid_input"


class NotAuthenticated(TasadorError):
    status_code = 401
    code = "not_authenticated"

    def __init__(self, message: str = "authentication required", **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(message, **kw)


class Forbidden(TasadorError):
    status_code = 403
    code = "forbidden"


class NotFound(TasadorError):
    status_code = 404
    code = "not_found"


class Conflict(TasadorError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(TasadorError):
    status_code = 413
    code = "payload_too_large"


class TooManyRequests(TasadorError):
    status_code = 429
    code = "too_many_attempts"


class ServiceUnavailable(TasadorError):
    status_code = 503
    code = "unavailable"


def error_envelope(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}
