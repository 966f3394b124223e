"""The batch-inference job: stream rows through a model, chunk by chunk.

Memory stays flat whatever the input size: at most three chunks of rows are in
memory at a time (one read, one predicted, one written). Rows come from a CSV or
a data source (``tabular``) and go to staged objects or a source's staging
tables (``batch_sinks``), made final only when
the job is recorded as succeeded, so a cancelled, failed or superseded run
leaves no output, partial or whole.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from api import ownership
from api.config import get_settings
from api.db.session import session_scope
from api.jobs.execution.batch_io import BatchCounts, predict_csv, requested_intervals
from api.jobs.execution.batch_sinks import open_sinks
from api.jobs.execution.context import Finalizer, JobContext, Outcome
from api.jobs.execution.partitioning import hand_off_if_large
from api.jobs.execution.runner import run_job
from api.jobs.execution.tabular import open_input
from api.jobs.schemas import BatchResult
from api.registry import artifacts as registry_artifacts
from api.registry import service as registry_service


def run_batch_inference(job_id: str) -> Outcome | None:
    return run_job(job_id, _predict)


def _predict(ctx: JobContext) -> Finalizer:
    settings = get_settings()
    # Before any read or write: the owner may read the input and write both outputs.
    allowed = ownership.authorize_batch(ctx.owner_id, ctx.job_id, ctx.request)
    source, output, errors = allowed.input_data, allowed.output_data, allowed.errors_data
    if isinstance(source, str) and isinstance(output, str) and errors is not None:
        # CSV in, CSV out: outputs are checked first, then a large job runs as partitions.
        # A data source's rows run whole, as one job.
        ctx.stage(output, "predictions.csv")
        ctx.stage(errors, "errors.csv")
        hand_off_if_large(ctx, source)
    assert ctx.model_version is not None, "batch jobs resolve their model at submit time"
    with session_scope() as session:
        artifact_uri = registry_service.get(session, ctx.model_version).artifact_uri
    bundle = registry_artifacts.cached_bundle(artifact_uri)
    intervals = requested_intervals(bundle, ctx.request.get("interval"))
    size = int(ctx.inputs.get("input_data", {}).get("size") or 0)

    # The input closes first, so a source that is both (one SQLite file) is free to commit.
    with (
        open_sinks(ctx, allowed) as sinks,
        open_input(source, require_target=False) as rows,
    ):

        def after_chunk(counts: BatchCounts) -> None:
            ctx.check_cancelled()  # raising aborts both writes: no partial output
            if rows.rows:  # a source's rows, counted before reading
                ctx.progress(min((counts.predicted + counts.failed) / rows.rows, 0.99))
            elif size:
                ctx.progress(min(counts.bytes_read / size, 0.99))

        counts = predict_csv(
            rows.stream,
            sinks.output,
            sinks.errors,
            bundle.predictor,
            intervals=intervals,
            chunk_rows=min(settings.batch_chunk_rows, rows.chunk_rows or settings.batch_chunk_rows),
            after_chunk=after_chunk,
        )
        ctx.check_cancelled()
    if counts.failed == 0 and errors is not None:
        ctx.outputs.unstage(errors)

    def finalize(session: Session) -> BatchResult:
        sinks.publish(ctx, counts.failed)
        return BatchResult(
            **sinks.result_fields(counts.failed),
            rows=counts.predicted,
            failed_rows=counts.failed,
            model_version=ctx.model_version,
            input_sha256=counts.sha256,
        )

    return finalize
