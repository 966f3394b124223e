"""Checking a ``callback_url`` when a job is submitted.

Everything that can be known without the network is checked here, so a typo
is a ``422`` at submit time instead of a webhook that silently never arrives.
DNS is deliberately not consulted: names may legitimately resolve differently
later, and the delivery-time guard (``ssrf``) has the final word anyway.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

import httpx

from api.config import get_settings
from api.errors import InvalidInput
from api.webhooks.ssrf import AllowList, classify, literal_address

MAX_URL_LENGTH = 2048
CODE = "invalid_callback_url"


def _refuse(message: str) -> InvalidInput:
    return InvalidInput(f"callback_url {message}", code=CODE)


def _split(url: str) -> SplitResult:
    if len(url) > MAX_URL_LENGTH:
        raise _refuse(f"is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise _refuse("contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        _ = parts.port  # reading the port is what validates it
    except ValueError as exc:
        raise _refuse(f"cannot be parsed: {exc}") from exc
    try:
        httpx.URL(url)  # the delivery's own parser: what it refuses could never be sent
    except httpx.InvalidURL as exc:
        raise _refuse(f"cannot be parsed: {exc}") from exc
    return parts


def check_callback_url(url: str) -> str:
    """Return ``url`` if a webhook may be sent to it; raise ``InvalidInput`` otherwise."""
    settings = get_settings()
    parts = _split(url)
    scheme = parts.scheme.lower()
    allowed = ("https", "http") if settings.webhook_allow_http else ("https",)
    if scheme not in allowed:
        shown = scheme or "none"
        if scheme == "http":
            raise _refuse("must use https (plain http is disabled on this service)")
        raise _refuse(f"must use {' or '.join(allowed)}, not scheme {shown!r}")
    if parts.username is not None or parts.password is not None:
        raise _refuse("must not contain credentials (user:password@); sign-in is by signature")
    host = parts.hostname
    if not host:
        raise _refuse("has no host")
    if parts.fragment:
        raise _refuse("must not contain a #fragment (it is never sent to the server)")
    _refuse_internal_literal(host, AllowList.parse(settings.webhook_allowed_hosts))
    return url


def _refuse_internal_literal(host: str, allow: AllowList) -> None:
    """Refuse, early, hosts that are internal by their very spelling."""
    if allow.permits(host):
        return
    address = literal_address(host)
    if address is not None:
        reason = classify(address)
        if reason is not None and not allow.permits(host, address):
            raise _refuse(f"points at {address}, {reason}, which this service does not call")
        return
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        raise _refuse(f"points at {host}, a loopback name, which this service does not call")
