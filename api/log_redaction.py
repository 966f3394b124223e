"""Secrets never reach a log line: the redaction every line passes through.

A secret can hide in two places. The value under a key that names a secret
(``password``, ``api_key``, ``authorization``...) is replaced whatever it looks
like, at any depth. Any string (messages, exception text, tracebacks) is
scanned for things that look like secrets: bearer tokens, JWTs, API keys,
refresh tokens, webhook secrets, the password in a URL, ``password=...``.
The finished line is scanned once more, which catches what only appears when a
non-string value is rendered (the ``repr`` of a headers tuple, say); those
patterns never match a quote or a backslash, so a JSON line stays valid JSON.

A string value longer than ``MAX_VALUE_CHARS`` is cut in the middle, so one
pathological message cannot cost seconds to format or megabytes to write.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, MutableMapping
from functools import lru_cache
from typing import Any

REDACTED = "[redacted]"
MAX_VALUE_CHARS = 32_000

# The value under such a key is a secret whatever it looks like.
_SECRET_KEY = re.compile(
    r"password|passwd|secret|token|api[-_]?key|authorization|cookie|credential", re.IGNORECASE
)

# Secrets recognisable by their shape. No character class admits `"` or `\`.
_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization header values: "Bearer <token>", "Basic <base64>".
    (re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE), rf"\1 {REDACTED}"),
    # A JWT: three base64url segments whose first is a JSON header ('{"' -> "eyJ").
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),
    # API keys and refresh tokens; the 8-character display prefix of a key is kept.
    (re.compile(r"\b(tsk|tsr)_[A-Za-z0-9_-]{12,}"), rf"\1_{REDACTED}"),
    # Webhook signing secrets.
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=_-]{8,}"), f"whsec_{REDACTED}"),
    # The password of a URL: scheme://user:password@host (database, broker, sources).
    (
        re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@\"'\\<>]*):[^\s@/\"'\\<>]+@"),
        rf"\1:{REDACTED}@",
    ),
)

# "password=...", "'api_key': '...'", "token: ..." inside free text (DSNs, query
# strings, reprs of dicts). Only applied to string values before rendering.
_ASSIGNMENT = re.compile(
    r"((?:password|passwd|pwd|secret|token|api[-_]?key)[\w-]*['\"]?\s*[:=]\s*b?['\"]?)"
    r"([^\s'\",;&(){}\[\]]+)",
    re.IGNORECASE,
)

# One cheap scan (of the lower-cased text; a case-insensitive alternation is
# ten times slower) decides whether the full set of patterns must run.
_MARKERS = re.compile(r"bearer|basic|eyj|tsk_|tsr_|whsec_|://|passw|pwd|secret|token|api[-_]?key")


def _maybe_secret(text: str) -> bool:
    return _MARKERS.search(text.lower()) is not None


@lru_cache(maxsize=4096)
def _is_secret_key(key: str) -> bool:
    return _SECRET_KEY.search(key) is not None


def redact_shapes(text: str) -> str:
    """``text`` with every secret recognisable by its shape replaced."""
    if not _maybe_secret(text):
        return text
    for pattern, replacement in _SHAPES:
        text = pattern.sub(replacement, text)
    return text


def redact_text(text: str) -> str:
    """Assignments and shapes redacted (assignments first: they take whole values)."""
    if not _maybe_secret(text):
        return text
    return redact_shapes(_ASSIGNMENT.sub(rf"\1{REDACTED}", text))


def _bounded(text: str) -> str:
    if len(text) <= MAX_VALUE_CHARS:
        return text
    head = MAX_VALUE_CHARS // 4
    cut = len(text) - MAX_VALUE_CHARS
    return f"{text[:head]}\n... [{cut} characters cut] ...\n{text[-(MAX_VALUE_CHARS - head) :]}"


def _by_key(key: object, value: Any) -> Any:
    """Values under secret-naming keys replaced (at any depth), long strings cut."""
    if value is None:
        return None
    if isinstance(key, str) and _is_secret_key(key):
        return REDACTED
    if isinstance(value, str):
        return _bounded(value)
    if isinstance(value, Mapping):
        return {k: _by_key(k, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_by_key(None, v) for v in value]
    return value


def _in_text(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _in_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_in_text(v) for v in value]
    return value


class RedactingRenderer:
    """A renderer whose lines hold no secret, at the cost of one scan when clean.

    The event is rendered once with secret-named keys redacted; only when the
    finished line contains something that might be a secret are the string
    values scanned and the line rendered again (and scanned once more, for what
    only a rendered ``repr`` shows).
    """

    def __init__(self, render: Callable[[Any, str, dict[str, Any]], str]) -> None:
        self._render = render

    def __call__(self, logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> str:
        event = {key: _by_key(key, value) for key, value in event_dict.items()}
        line = self._render(logger, method, dict(event))  # renderers may pop keys
        if not _maybe_secret(line):
            return line
        return redact_shapes(self._render(logger, method, _in_text(event)))
