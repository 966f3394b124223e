"""Login throttling: too many failures for one username or one address answer 429.

Counts live in the ``login_attempts`` table (the standalone mode has no Redis).
Only failures count, and attempts refused by the throttle are not recorded, so a
locked username unlocks at most one window after its last real failure instead
of staying locked while an attacker keeps knocking. A successful login clears
its username's failures.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from api.auth import repository
from api.config import get_settings
from api.errors import TooManyRequests
from api.logging import get_logger

log = get_logger("api.audit")

KEY_LENGTH = 64  # the column width; longer usernames cannot exist anyway


def username_key(username: str) -> str:
    return username.strip().lower()[:KEY_LENGTH]


def _retry_after(failures: list[datetime], limit: int, window: timedelta, now: datetime) -> int:
    """Seconds until fewer than ``limit`` of ``failures`` (newest first) are in the window."""
    if len(failures) < limit:
        return 0
    # Once the limit-th newest failure leaves the window, fewer than `limit` remain.
    return max(1, math.ceil((failures[limit - 1] + window - now).total_seconds()))


def check_allowed(session: Session, username: str, client_address: str, now: datetime) -> None:
    """Raise ``429 too_many_attempts`` with ``Retry-After`` when either counter is full."""
    settings = get_settings()
    window = timedelta(minutes=settings.login_window_minutes)
    since = now - window
    per_user = settings.login_max_failures_per_user
    per_address = settings.login_max_failures_per_address
    by_user = repository.recent_failures(session, since=since, limit=per_user, username=username)
    by_address = repository.recent_failures(
        session, since=since, limit=per_address, client_address=client_address
    )
    wait = max(
        _retry_after(by_user, per_user, window, now),
        _retry_after(by_address, per_address, window, now),
    )
    if wait:
        log.warning("login_throttled", username=username, client=client_address, retry_after=wait)
        raise TooManyRequests(
            f"too many failed logins; try again in {wait} seconds",
            details={"retry_after": wait},
            headers={"Retry-After": str(wait)},
        )


def record_failure(session: Session, username: str, client_address: str, now: datetime) -> None:
    window = timedelta(minutes=get_settings().login_window_minutes)
    repository.prune_failures(session, before=now - window)
    repository.add_failure(session, username, client_address[:KEY_LENGTH], now)


def record_success(session: Session, username: str) -> None:
    repository.clear_failures(session, username)
