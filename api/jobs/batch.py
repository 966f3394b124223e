"""The batch-inference job: stream a CSV through a model, chunk by chunk.

Memory stays flat whatever the file size: one chunk of rows is in memory at a
time, and both outputs are multipart uploads that become visible only when the
whole file succeeded (a cancelled or failed run leaves no partial output).
"""

from __future__ import annotations

import csv
import io
from typing import IO, Any

from sqlalchemy.orm import Session

from api.config import get_settings
from api.datasets.reading import Chunk, HashingReader, iter_chunks
from api.db.session import session_scope
from api.jobs.runner import Finalizer, JobContext, run_job
from api.jobs.submission import default_output
from api.ml.fast import FastPredictor
from api.registry import artifacts as stored
from api.registry import service as registry
from api.storage import get_store

PREDICTION_COLUMN = "price_pred"
ERROR_HEADER = ("row", "column", "reason")


def errors_uri(output: str) -> str:
    """``out.csv`` -> ``out.errors.csv``: the rows that could not be predicted."""
    stem = output[:-4] if output.lower().endswith(".csv") else output
    return f"{stem}.errors.csv"


def run_batch_inference(job_id: str) -> None:
    run_job(job_id, _predict)


def _write_predictions(out: IO[str], chunk: Chunk, predictor: FastPredictor, header: bool) -> int:
    if chunk.valid.empty:
        if header:
            out.write(",".join([*map(str, chunk.raw.columns), PREDICTION_COLUMN]) + "\n")
        return 0
    rows = chunk.raw.loc[chunk.valid.index]
    predicted = predictor.predict_frame(chunk.valid)
    rows.assign(**{PREDICTION_COLUMN: predicted}).to_csv(out, header=header, index=False)
    return len(rows)


def _write_errors(writer: Any, chunk: Chunk) -> int:
    writer.writerows((p.row, p.column, p.reason) for p in chunk.problems)
    return len({p.row for p in chunk.problems})


def _predict(ctx: JobContext) -> Finalizer:
    settings = get_settings()
    store = get_store()
    request = ctx.request
    source = request["input_data"]
    output = request.get("output_data") or default_output(source, str(ctx.job_id), "predictions")
    errors = errors_uri(output)
    assert ctx.model_version is not None, "batch jobs resolve their model at submit time"
    with session_scope() as session:
        artifact_uri = registry.get(session, ctx.model_version).artifact_uri
    predictor = stored.load_predictor(artifact_uri)
    size = max(int(ctx.inputs.get("input_data", {}).get("size") or 0), 1)

    predicted = failed = 0
    with (
        store.open_read(source) as raw_in,
        store.open_write(output) as raw_out,
        store.open_write(errors) as raw_err,
    ):
        hashing = HashingReader(raw_in)
        out = io.TextIOWrapper(raw_out, encoding="utf-8", newline="", write_through=True)
        err = io.TextIOWrapper(raw_err, encoding="utf-8", newline="", write_through=True)
        error_writer = csv.writer(err)
        error_writer.writerow(ERROR_HEADER)
        chunks = iter_chunks(
            hashing,  # type: ignore[arg-type]
            require_target=False,
            chunk_rows=settings.batch_chunk_rows,
        )
        for number, chunk in enumerate(chunks):
            ctx.check_cancelled()
            predicted += _write_predictions(out, chunk, predictor, header=number == 0)
            failed += _write_errors(error_writer, chunk)
            ctx.progress(min(hashing.size / size, 0.99))
        out.flush()
        err.flush()
        out.detach()
        err.detach()
        ctx.check_cancelled()
    ctx.on_discard(lambda: store.delete(output))
    ctx.on_discard(lambda: store.delete(errors))
    if failed == 0:
        store.delete(errors)
    sha256 = hashing.digest.hexdigest()

    def finalize(session: Session) -> dict[str, Any]:
        return {
            "output_data": output,
            "rows": predicted,
            "failed_rows": failed,
            **({"errors_data": errors} if failed else {}),
            "model_version": ctx.model_version,
            "input_sha256": sha256,
        }

    return finalize
