"""Case 4, train: the notebook preset through a training job vs the notebook in-process.

The in-process side is the client's notebook itself: read the CSV with pandas,
fit the ColumnTransformer(TargetEncoder) + GradientBoostingRegressor pipeline,
predict. The job side is ``POST /v1/jobs/training`` with ``preset=notebook`` and
the same file as ``test_data``, so it also fits once and predicts once; it adds
the queue, S3 reads, validation, metrics, the artifact upload and registration.
Runs alternate (in-process, job) so that machine noise hits both alike. The
job's default evaluation (a hold-out fit, then a refit on all rows: two fits)
is timed too, for reference.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from tests.client_data import TRAIN_CSV_VARIABLE, client_train_csv
from tests.perf.fixtures import upload
from tests.perf.jobs import wait_for
from tests.perf.report import Results, Row, summary
from tests.perf.stack import Stack

OVERHEAD_LIMIT = 1.2


def _notebook_in_process(path: Path) -> float:
    """The notebook's cells, timed from reading the CSV to predicting."""
    import pandas as pd
    from category_encoders import TargetEncoder
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.pipeline import Pipeline

    started = time.perf_counter()
    train = pd.read_csv(path)
    train_cols = [col for col in train.columns if col not in ["id", "target"]]
    categorical_cols = ["type", "sector"]
    target = "price"
    preprocessor = ColumnTransformer(
        transformers=[("categorical", TargetEncoder(), categorical_cols)]
    )
    model = GradientBoostingRegressor(
        learning_rate=0.01, n_estimators=300, max_depth=5, loss="absolute_error"
    )
    pipeline = Pipeline([("preprocessor", preprocessor), ("model", model)])
    pipeline.fit(train[train_cols], train[target])
    pipeline.predict(train[train_cols])
    return time.perf_counter() - started


def _job(stack: Stack, body: dict[str, Any]) -> float:
    with stack.client() as client:
        answer = client.post("/v1/jobs/training", json=body)
        answer.raise_for_status()
    job_id = uuid.UUID(answer.json()["id"])
    job = wait_for(stack.engine(), [job_id], 600)[job_id]
    if job.status != "succeeded" or job.total_seconds is None:
        raise RuntimeError(f"training job {job_id} ended {job.status}: {job.error}")
    return job.total_seconds


def run(stack: Stack, results: Results, *, quick: bool) -> None:
    path = client_train_csv()
    if not path.exists():
        results.skipped["train"] = f"{path} is absent (set {TRAIN_CSV_VARIABLE})"
        return
    uri = upload(path, "inputs/train.csv")
    repeats = 1 if quick else 3
    like_notebook = {"train_data": uri, "test_data": uri, "preset": "notebook", "promote": "never"}
    default_eval = {"train_data": uri, "preset": "notebook", "promote": "never"}
    worker = stack.start_worker("train", concurrency=1, queues="training")
    plain: list[float] = []
    jobs: list[float] = []
    two_fits: list[float] = []
    try:
        for _ in range(repeats):
            plain.append(_notebook_in_process(path))
            jobs.append(_job(stack, like_notebook))
            two_fits.append(_job(stack, default_eval))
    finally:
        stack.stop(worker)
    ratio = summary([j / p for j, p in zip(jobs, plain, strict=True)])
    results.add(
        Row("train", "notebook in-process (read, fit, predict)", summary(plain), "s",
            note=f"{path.name}"),
        Row("train", "training job, test_data given (one fit)", summary(jobs), "s",
            note="submit to finished"),
        Row("train", "job / in-process", ratio, "ratio", f"<= {OVERHEAD_LIMIT}",
            ratio["median"] <= OVERHEAD_LIMIT),
        Row("train", "training job, hold-out + refit (two fits)", summary(two_fits), "s",
            note="the job's default evaluation"),
    )  # fmt: skip
    results.details["train"] = {"plain": plain, "job": jobs, "job_two_fits": two_fits}
