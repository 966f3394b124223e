"""The batch-inference job: stream a CSV through a model, chunk by chunk.

Memory stays flat whatever the file size: one chunk of rows is in memory at a
time. Both outputs are written to the attempt's staging keys and published to
the requested locations only when the job is recorded as succeeded, so a
cancelled, failed or superseded run leaves no output, partial or whole.
"""

from __future__ import annotations

from pydantic import MISSING
from sqlalchemy.orm import Session

from api import ownership
from api.config import get_settings
from api.db.session import session_scope
from api.jobs.execution.batch_io import BatchCounts, predict_csv, requested_intervals
from api.jobs.execution.context import Finalizer, JobContext, Outcome
from api.jobs.execution.partitioning import hand_off_if_large
from api.jobs.execution.runner import run_job
from api.jobs.schemas import BatchResult
from api.registry import artifacts as registry_artifacts
from api.registry import service as registry_service
from api.storage import get_store


def run_batch_inference(job_id: str) -> Outcome | None:
    return run_job(job_id, _predict)


def _predict(ctx: JobContext) -> Finalizer:
    settings = get_settings()
    store = get_store()
    # Before any read or write: the owner may read the input and write both outputs.
    allowed = ownership.authorize_batch(ctx.owner_id, ctx.job_id, ctx.request)
    source, output, errors = allowed.input_data, allowed.output_data, allowed.errors_data
    staged_output = ctx.stage(output, "predictions.csv")
    staged_errors = ctx.stage(errors, "errors.csv")
    hand_off_if_large(ctx, source)
    assert ctx.model_version is not None, "batch jobs resolve their model at submit time"
    with session_scope() as session:
        artifact_uri = registry_service.get(session, ctx.model_version).artifact_uri
    bundle = registry_artifacts.cached_bundle(artifact_uri)
    intervals = requested_intervals(bundle, ctx.request.get("interval"))
    size = max(int(ctx.inputs.get("input_data", {}).get("size") or 0), 1)

    def after_chunk(counts: BatchCounts) -> None:
        ctx.check_cancelled()  # raising aborts both uploads: no partial output
        ctx.progress(min(counts.bytes_read / size, 0.99))

    with (
        store.open_read(source) as raw_in,
        store.open_write(staged_output) as raw_out,
        store.open_write(staged_errors) as raw_err,
    ):
        counts = predict_csv(
            raw_in,
            raw_out,
            raw_err,
            bundle.predictor,
            intervals=intervals,
            chunk_rows=settings.batch_chunk_rows,
            after_chunk=after_chunk,
        )
        ctx.check_cancelled()
    if counts.failed == 0:
        ctx.outputs.unstage(errors)

    def finalize(session: Session) -> BatchResult:
        return BatchResult(
            output_data=output,
            rows=counts.predicted,
            failed_rows=counts.failed,
            errors_data=errors if counts.failed else MISSING,
            model_version=ctx.model_version,
            input_sha256=counts.sha256,
        )

    return finalize
