"""The training job: read and validate CSVs, fit, store the artifact, register.

The fit runs outside any transaction; the model version is registered (and the
production alias possibly moved) in the same transaction that marks the job
succeeded and publishes the artifact, so a cancelled, failed or superseded run
never leaves a registered model or an artifact behind.
"""

from __future__ import annotations

from pydantic import MISSING
from sqlalchemy.orm import Session

from api import ownership
from api.errors import InvalidInput
from api.jobs.execution.context import Finalizer, JobCancelled, JobContext, Outcome
from api.jobs.execution.inputs import load_training_csv
from api.jobs.execution.promotion import Decision, apply_promotion, decide_promotion
from api.jobs.execution.runner import run_job
from api.jobs.schemas import TrainingResult
from api.logging import get_logger
from api.ml import artifact as artifacts
from api.ml import charts
from api.ml.presets import ParamError
from api.ml.training import (
    TrainingCancelled,
    TrainingDataError,
    TrainResult,
    feature_importances,
    train,
)
from api.registry import artifacts as registry_artifacts
from api.registry import service as registry_service
from api.storage import get_store

log = get_logger("api.jobs.execution.training_job")

# Reading and validating is the first 10 % of the progress bar, storing the last 5 %.
_READ_SHARE = 0.10
_FIT_SHARE = 0.85


def run_training(job_id: str) -> Outcome | None:
    return run_job(job_id, _train)


def draw_charts(artifact_uri: str, result: TrainResult) -> None:
    """Draw the model's charts beside its artifact, so that pages only read them.

    Called by the attempt that registered the version, right after its success is
    committed: drawing takes a few tenths of a second that the job's own time need
    not include, and only the registered version gets pictures."""
    if result.evaluation_rows is None:
        return
    try:
        drawn = charts.render_charts(result.evaluation_rows, feature_importances(result.estimator))
    except Exception as exc:  # a model without pictures is still a model
        log.warning("charts_not_drawn", uri=artifact_uri, error=f"{type(exc).__name__}: {exc}")
        return
    store = get_store()
    for name, svg in drawn.items():
        store.put_bytes(registry_artifacts.chart_uri(artifact_uri, name), svg)


def _train(ctx: JobContext) -> Finalizer:
    request = ctx.request
    # Before any read: the owner may read the data and, if asked, move production.
    allowed = ownership.authorize_training(ctx.owner_id, request)
    train_csv = load_training_csv(allowed.train_data, "train_data")
    test_csv = load_training_csv(allowed.test_data, "test_data") if allowed.test_data else None
    ctx.progress(_READ_SHARE)
    ctx.check_cancelled()
    try:
        result = train(
            train_csv.frame,
            preset=request.get("preset", "default"),
            params=request.get("params") or {},
            test_df=test_csv.frame if test_csv else None,
            progress=lambda f: ctx.progress(_READ_SHARE + _FIT_SHARE * f),
            should_stop=ctx.should_stop,
        )
    except TrainingCancelled as exc:
        raise JobCancelled(str(ctx.job_id)) from exc
    except (ParamError, TrainingDataError) as exc:
        raise InvalidInput(str(exc)) from exc

    training_data = train_csv.training_data()
    artifact = artifacts.ModelArtifact.from_training(result, training_data)
    uri = registry_artifacts.artifact_uri(str(ctx.job_id))
    # Published when the job is recorded.
    registry_artifacts.save(ctx.stage(uri, "model.tsm"), artifact)
    ctx.after_success.append(lambda: draw_charts(uri, result))
    decision = decide_promotion(allowed.promote, result, train_csv, test_csv)
    ctx.progress(1.0)

    def finalize(session: Session) -> TrainingResult:
        version = registry_service.register(
            session,
            preset=result.preset,
            params=result.params,
            metrics=result.metrics,
            evaluation=result.evaluation,
            training_data=training_data,
            artifact_uri=uri,
            job_id=ctx.job_id,
            created_by=ctx.owner_id,
        )
        outcome: Decision = apply_promotion(session, decision, version.version, ctx.owner_id)
        return TrainingResult(
            model_version=version.version,
            metrics=result.metrics,
            evaluation=result.evaluation,
            artifact_uri=uri,
            promoted=outcome.promoted,
            promotion=outcome.reason,
            alias=outcome.alias if outcome.promoted else MISSING,
        )

    return finalize
