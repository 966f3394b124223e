"""The Celery application the workers run (``celery -A worker.app worker``).

The task modules are listed in ``include`` rather than imported here: they
import this app to register on it, and Celery imports them when a worker starts.
"""

from __future__ import annotations

from celery import Celery

import worker.signals  # noqa: F401  (connects the process signal handlers)
from api.config import get_settings
from api.logging import configure_logging
from worker.config import celery_config

configure_logging()
app = Celery("tasador", include=["worker.job_tasks", "worker.webhook_tasks"])
app.config_from_object(celery_config(get_settings()))
