"""Login throttling: counted per (username, address) and per address, atomically.

Counts live in the ``login_attempts`` table (the standalone mode has no Redis).
Every attempt is recorded as a failure *before* its password is checked, in a
step serialised per address (a Postgres advisory lock; SQLite's single writer
lock does the same), and counted together with the failures already there. A
parallel burst is therefore counted like a serial one: at most the limit of
attempts get their password checked, the others answer ``429``. A correct
password deletes the record again (with the failures of that username from
that address); refused attempts are never recorded, so a locked pair unlocks at
most one window after its last real failure.

Failures of a username from *other* addresses never refuse it: otherwise anyone
could lock the admin out by guessing wrong. They slow it down instead, with a
delay that doubles per failure past the per-user limit, up to
``TASADOR_LOGIN_MAX_DELAY_SECONDS``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.orm import Session

from api.auth import repository
from api.config import get_settings
from api.errors import TooManyRequests
from api.logging import get_logger

log = get_logger("api.audit")

KEY_LENGTH: Final[int] = 64  # the column width; longer usernames cannot exist anyway
FIRST_DELAY_SECONDS: Final[float] = 0.25
_COUNTED_ELSEWHERE: Final[int] = 64  # enough to reach any sensible delay cap


@dataclass(frozen=True)
class Ticket:
    """An attempt allowed to check its password, recorded as a failure until it succeeds."""

    username: str
    client_address: str
    delay_seconds: float


def username_key(username: str) -> str:
    return username.strip().lower()[:KEY_LENGTH]


def address_key(client_address: str) -> str:
    return client_address[:KEY_LENGTH]


def _retry_after(failures: list[datetime], limit: int, window: timedelta, now: datetime) -> int:
    """Seconds until fewer than ``limit`` of ``failures`` (newest first) are in the window."""
    if len(failures) < limit:
        return 0
    # Once the limit-th newest failure leaves the window, fewer than `limit` remain.
    return max(1, math.ceil((failures[limit - 1] + window - now).total_seconds()))


def slowdown(failures_elsewhere: int, free: int, cap: float) -> float:
    """Seconds to wait before checking a password, given failures from other addresses."""
    if failures_elsewhere < free:
        return 0.0
    return min(cap, FIRST_DELAY_SECONDS * 2.0 ** (failures_elsewhere - free))


def reserve(session: Session, username: str, client_address: str, now: datetime) -> Ticket:
    """Record this attempt as a failure, or raise ``429 too_many_attempts`` with ``Retry-After``.

    The caller commits right after, so that the next attempt from the same
    address counts this one; nothing slow may run between this and that commit.
    """
    settings = get_settings()
    window = timedelta(minutes=settings.login_window_minutes)
    since = now - window
    per_user, per_address = (
        settings.login_max_failures_per_user,
        settings.login_max_failures_per_address,
    )
    address = address_key(client_address)
    repository.lock_login_address(session, address)
    repository.prune_failures(session, before=since)
    own = repository.add_failure(session, username, address, now)
    by_pair = repository.recent_failures(
        session, since=since, limit=per_user + 1, username=username, client_address=address
    )
    by_address = repository.recent_failures(
        session, since=since, limit=per_address + 1, client_address=address
    )
    wait = max(
        _retry_after(_without(by_pair, own), per_user, window, now),
        _retry_after(_without(by_address, own), per_address, window, now),
    )
    if wait:
        # The caller's transaction rolls back, taking this attempt's record with it.
        log.warning("login_throttled", username=username, client=address, retry_after=wait)
        raise TooManyRequests(
            f"too many failed logins; try again in {wait} seconds",
            details={"retry_after": wait},
            headers={"Retry-After": str(wait)},
        )
    elsewhere = repository.count_failures_elsewhere(
        session, since=since, username=username, client_address=address, cap=_COUNTED_ELSEWHERE
    )
    delay = slowdown(elsewhere, per_user, settings.login_max_delay_seconds)
    if delay:
        log.info("login_slowed", username=username, client=address, delay_seconds=delay)
    return Ticket(username, address, delay)


def _without(failures: list[tuple[int, datetime]], own: int) -> list[datetime]:
    return [at for attempt_id, at in failures if attempt_id != own]


def record_success(session: Session, ticket: Ticket) -> None:
    """Forget the failures of this username from this address (this attempt's included)."""
    repository.clear_failures(session, ticket.username, ticket.client_address)
