"""Delivering webhooks: claim the due attempt, send it, record it, schedule the next.

``deliver`` is what the worker task runs; it is safe to run twice for the same
delivery (the claim lets one of them through) and never sleeps: a failed
attempt only sets ``next_attempt_at``. ``dispatch_due``, called from the
worker's periodic loop, sends tasks for attempts that have come due. Retries
therefore live in the database, not in broker ETAs, and survive restarts.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

from api import queue
from api.config import Settings, get_settings
from api.db.base import utcnow
from api.db.session import session_scope
from api.db.tables.webhook_delivery import DeliveryStatus, WebhookAttempt
from api.logging import get_logger
from api.webhooks import repository, sender, service
from api.webhooks.signing import build_headers
from api.webhooks.ssrf import AllowList

log = get_logger("api.webhooks.delivery")

# Jitter spreads retries of many deliveries that failed together. It only ever
# lengthens a delay, so the promised minimum (>= 1 hour over the default 8
# attempts at a 30 s base) holds on the unluckiest draw too.
JITTER = 0.2
DISPATCH_BATCH = 500
# Extra time, beyond the HTTP timeouts, before a claimed attempt whose worker
# vanished counts as lost and is tried again.
LEASE_MARGIN = timedelta(seconds=30)


def backoff_seconds(attempt: int, base: float, rng: random.Random | None = None) -> float:
    """Delay after failed attempt ``attempt`` (1-based): base * 2**(attempt-1), +0..20%."""
    draw: float = (rng or random).random()
    nominal: float = base * (1 << (attempt - 1))
    return nominal * (1 + JITTER * draw)


def minimum_retry_span(max_attempts: int, base: float) -> float:
    """Shortest time from the first to the last attempt (the jitter only adds)."""
    return float(sum(base * (1 << (n - 1)) for n in range(1, max_attempts)))


def lease(settings: Settings) -> timedelta:
    timeouts = settings.webhook_connect_timeout + 2 * settings.webhook_read_timeout
    return timedelta(seconds=timeouts) + LEASE_MARGIN


def encode_body(payload: dict[str, object]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def deliver(delivery_id: str, *, now: datetime | None = None) -> str:
    """Make the due attempt of a delivery, if any; returns the delivery's status.

    Returns ``"not_due"`` when there is nothing to do: the delivery ended, its
    next attempt is not due yet, or another worker claimed it first.
    """
    settings = get_settings()
    started = now or utcnow()
    with session_scope() as session:
        delivery = repository.get_delivery(session, delivery_id)
        if (
            delivery is None
            or delivery.status != DeliveryStatus.PENDING
            or delivery.next_attempt_at > started
        ):
            return "not_due"
        if delivery.attempts >= delivery.attempt_limit:
            # The last attempt's worker was lost before recording it: give up.
            repository.conclude(
                session,
                delivery_id,
                attempt=delivery.attempts,
                status=DeliveryStatus.FAILED,
                next_attempt_at=started,
                finished_at=started,
            )
            return DeliveryStatus.FAILED
        attempt = delivery.attempts + 1
        claimed = repository.claim(
            session,
            delivery_id,
            seen_attempts=delivery.attempts,
            now=started,
            lease_until=started + lease(settings),
        )
        if not claimed:
            return "not_due"
        secrets = service.signing_secrets(service.secret_for(session, delivery.owner_id), started)
        url, limit = delivery.url, delivery.attempt_limit
        body = encode_body(delivery.payload)
    headers = build_headers(secrets, delivery_id, int(started.timestamp()), body)
    policy = sender.SendPolicy(
        connect_timeout=settings.webhook_connect_timeout,
        read_timeout=settings.webhook_read_timeout,
        allow=AllowList.parse(settings.webhook_allowed_hosts),
    )
    outcome = sender.send(url, body, headers, policy)
    return _record(delivery_id, attempt, limit, started, outcome, settings)


def _next_status(outcome: sender.Outcome, attempt: int, limit: int) -> DeliveryStatus:
    if outcome.delivered:
        return DeliveryStatus.DELIVERED
    if outcome.status_code == 410:
        return DeliveryStatus.ABANDONED  # the receiver says this endpoint is gone for good
    if outcome.blocked:
        return DeliveryStatus.FAILED  # policy refuses the address; retrying cannot change that
    if attempt >= limit:
        return DeliveryStatus.FAILED
    return DeliveryStatus.PENDING


def _record(
    delivery_id: str,
    attempt: int,
    limit: int,
    started: datetime,
    outcome: sender.Outcome,
    settings: Settings,
) -> str:
    status = _next_status(outcome, attempt, limit)
    ended = utcnow()
    delay = backoff_seconds(attempt, settings.webhook_backoff_base_seconds)
    with session_scope() as session:
        repository.add(
            session,
            WebhookAttempt(
                delivery_id=delivery_id,
                attempt=attempt,
                started_at=started,
                status_code=outcome.status_code,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
                response_snippet=outcome.snippet,
            ),
        )
        repository.conclude(
            session,
            delivery_id,
            attempt=attempt,
            status=status,
            next_attempt_at=ended + timedelta(seconds=delay)
            if status == DeliveryStatus.PENDING
            else ended,
            finished_at=None if status == DeliveryStatus.PENDING else ended,
        )
    log.info(
        "webhook_attempt",
        delivery_id=delivery_id,
        attempt=attempt,
        status_code=outcome.status_code,
        error=outcome.error,
        duration_ms=outcome.duration_ms,
        delivery_status=status,
    )
    return status


def dispatch_due(now: datetime | None = None) -> int:
    """Send a task for every pending delivery whose attempt is due; returns how many.

    A delivery sent to the queue is not sent again until ``lease`` has passed,
    so a backlog in the webhooks queue does not snowball into duplicates.
    """
    settings = get_settings()
    moment = now or utcnow()
    with session_scope() as session:
        ids = list(
            repository.due(
                session,
                now=moment,
                dispatched_before=moment - lease(settings),
                limit=DISPATCH_BATCH,
            )
        )
        repository.mark_dispatched(session, ids, moment)
        for delivery_id in ids:
            queue.defer_send(
                session, queue.TASK_DELIVER_WEBHOOK, [delivery_id], queue.QUEUE_WEBHOOKS
            )
    if ids:
        log.info("webhooks_dispatched", count=len(ids))
    return len(ids)
