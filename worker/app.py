"""The Celery application the workers run (``celery -A worker.app worker``)."""

from __future__ import annotations

from celery import Celery

from api.config import get_settings
from api.logging import configure_logging
from worker.config import celery_config

configure_logging()
app = Celery("tasador")
app.config_from_object(celery_config(get_settings()))

# Registers the tasks and the process signals on this app.
import worker.signals  # noqa: E402
import worker.tasks  # noqa: E402
import worker.webhook_tasks  # noqa: E402, F401
