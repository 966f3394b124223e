"""Celery configuration, derived from the service settings."""

from __future__ import annotations

from typing import Any

from kombu.entity import Queue

from api import queue
from api.config import Settings


def celery_config(settings: Settings) -> dict[str, Any]:
    return {
        "broker_url": settings.broker_url,
        "broker_connection_retry_on_startup": True,
        # Redelivery of an unacknowledged message must wait past the hard limit,
        # or a long job would be handed to a second worker while still running.
        "broker_transport_options": queue.broker_transport_options(),
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        "task_ignore_result": True,  # the job row is the source of truth
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        # All three queues are declared, whichever a worker consumes, so Flower's
        # broker page lists each of them.
        "task_queues": tuple(Queue(name) for name in queue.QUEUES),  # type: ignore[no-untyped-call]
        "task_default_queue": queue.QUEUE_INFERENCE,
        "task_routes": {
            queue.TASK_RUN_TRAINING: {"queue": queue.QUEUE_TRAINING},
            queue.TASK_RUN_BATCH_INFERENCE: {"queue": queue.QUEUE_INFERENCE},
            queue.TASK_RUN_BATCH_PARTITION: {"queue": queue.QUEUE_INFERENCE},
            queue.TASK_DELIVER_WEBHOOK: {"queue": queue.QUEUE_WEBHOOKS},
        },
        # Flower shows tasks only when workers send events.
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "worker_hijack_root_logger": False,
    }
