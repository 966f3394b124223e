"""The producer side of the task queue: the only place the API talks to Celery.

The API never imports ``worker``; it sends tasks by name. Task and queue names
are constants here and the worker registers its tasks under the same names.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from celery import Celery
from sqlalchemy.orm import Session

from api import queue_redis
from api.config import get_settings
from api.db.session import defer

QUEUE_TRAINING = "training"
QUEUE_INFERENCE = "inference"
QUEUE_WEBHOOKS = "webhooks"
QUEUES = (QUEUE_TRAINING, QUEUE_INFERENCE, QUEUE_WEBHOOKS)

TASK_RUN_TRAINING = "tasador.jobs.run_training"
TASK_RUN_BATCH_INFERENCE = "tasador.jobs.run_batch_inference"
TASK_RUN_BATCH_PARTITION = "tasador.jobs.run_batch_partition"
TASK_DELIVER_WEBHOOK = "tasador.webhooks.deliver"

_lock = threading.Lock()
_producer: Celery | None = None


def producer() -> Celery:
    """A Celery app used only to publish messages (created on first use)."""
    global _producer
    if _producer is None:
        with _lock:
            if _producer is None:
                settings = get_settings()
                app = Celery("tasador-producer", broker=settings.broker_url)
                app.conf.update(
                    task_serializer="json",
                    accept_content=["json"],
                    broker_transport_options=broker_transport_options(),
                    broker_connection_retry_on_startup=True,
                )
                _producer = app
    return _producer


def broker_transport_options() -> dict[str, Any]:
    """Shared by producer and worker: redelivery must wait past the hard limit."""
    settings = get_settings()
    longest = max(settings.training_time_limit, settings.inference_time_limit)
    return {"visibility_timeout": longest + 600}


def send(
    task_name: str,
    args: list[Any],
    queue: str,
    countdown: float | None = None,
    task_id: str | None = None,
) -> None:
    """Publish a task: on a Redis broker with one ``LPUSH`` (``api.queue_redis``),
    otherwise (or with a countdown) through Celery. ``task_id`` names it (a job's
    task carries the job id, so Flower and the worker's logs show the id users see)."""
    url = get_settings().broker_url
    if countdown is None and queue_redis.is_redis(url):
        queue_redis.publish(url, task_name, args, queue, task_id=task_id)
        return
    producer().send_task(task_name, args=args, queue=queue, countdown=countdown, task_id=task_id)


def defer_send(
    session: Session,
    task_name: str,
    args: list[Any],
    queue: str,
    countdown: float | None = None,
    task_id: str | None = None,
) -> None:
    """Send a task once ``session`` has committed (never before, never on rollback)."""
    defer(session, lambda: send(task_name, args, queue, countdown=countdown, task_id=task_id))


def depths(queues: Iterable[str], *, timeout: float = 2.0) -> dict[str, int]:
    """Messages waiting in each of ``queues``; empty when the broker is not Redis.

    Kombu's Redis transport keeps a queue as a list of that name (a message a
    worker took but has not acknowledged is no longer in it). Raises
    ``redis.RedisError`` when the broker does not answer within ``timeout``.
    """
    url = get_settings().broker_url
    if not url.startswith(("redis://", "rediss://")):
        return {}
    import redis

    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        return {name: int(client.llen(name)) for name in queues}
    finally:
        client.close()


def depth(queue: str) -> int | None:
    """Messages waiting in ``queue``, or None when the broker cannot say."""
    import redis

    try:
        return depths([queue]).get(queue)
    except redis.RedisError:
        return None


def reset_producer() -> None:
    global _producer
    _producer = None
    queue_redis.reset()
