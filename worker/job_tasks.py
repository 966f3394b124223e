"""Job task entry points: thin wrappers that call into ``api``.

Names come from ``api.queue`` so the producer and the worker cannot drift apart.
"""

from __future__ import annotations

from api import queue
from api.config import get_settings
from api.jobs.execution.batch_job import run_batch_inference
from api.jobs.execution.partition_job import run_partition
from api.jobs.execution.training_job import run_training
from worker.app import app

_settings = get_settings()


@app.task(
    name=queue.TASK_RUN_TRAINING,
    soft_time_limit=_settings.training_soft_time_limit,
    time_limit=_settings.training_time_limit,
)
def run_training_task(job_id: str) -> None:
    run_training(job_id)


@app.task(
    name=queue.TASK_RUN_BATCH_INFERENCE,
    soft_time_limit=_settings.inference_soft_time_limit,
    time_limit=_settings.inference_time_limit,
)
def run_batch_inference_task(job_id: str) -> None:
    run_batch_inference(job_id)


@app.task(
    name=queue.TASK_RUN_BATCH_PARTITION,
    soft_time_limit=_settings.inference_soft_time_limit,
    time_limit=_settings.inference_time_limit,
)
def run_batch_partition_task(job_id: str, number: int) -> None:
    run_partition(job_id, number)
