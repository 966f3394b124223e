"""The webhook delivery task: a thin wrapper around ``api.webhooks.delivery``.

No Celery retry or countdown is used: the retry schedule lives in the
database and ``dispatch_due`` sends the task again when an attempt is due.
"""

from __future__ import annotations

from api import queue
from api.webhooks.delivery import deliver
from worker.app import app


@app.task(name=queue.TASK_DELIVER_WEBHOOK, acks_late=True)
def deliver_webhook_task(delivery_id: str) -> str:
    return deliver(delivery_id)
