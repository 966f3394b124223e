"""Predicting a CSV stream into a predictions stream and an errors stream.

Shared by the batch-inference job and the offline ``tasador model predict``
command, so both write the same format: the input columns plus ``price_pred``
for valid rows, and ``row,column,reason`` for each problem of the others.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from api.datasets.reading import Chunk, HashingReader, iter_chunks
from api.ml.fast import FastPredictor

PREDICTION_COLUMN = "price_pred"
ERROR_HEADER = ("row", "column", "reason")


@dataclass
class BatchCounts:
    predicted: int = 0
    failed: int = 0
    bytes_read: int = 0
    sha256: str = ""


def _write_predictions(out: IO[str], chunk: Chunk, predictor: FastPredictor, header: bool) -> int:
    rows = chunk.raw.loc[chunk.valid.index]
    if header:
        out.write(",".join([*map(str, chunk.raw.columns), PREDICTION_COLUMN]) + "\n")
    if rows.empty:
        return 0
    predicted = predictor.predict_frame(chunk.valid)
    rows.assign(**{PREDICTION_COLUMN: predicted}).to_csv(out, header=False, index=False)
    return len(rows)


def predict_csv(
    source: IO[bytes],
    predictions: IO[bytes],
    errors: IO[bytes],
    predictor: FastPredictor,
    *,
    chunk_rows: int,
    after_chunk: Callable[[BatchCounts], None] | None = None,
) -> BatchCounts:
    """Stream ``source`` through ``predictor``; ``after_chunk`` may raise to stop."""
    counts = BatchCounts()
    hashing = HashingReader(source)
    out = io.TextIOWrapper(predictions, encoding="utf-8", newline="", write_through=True)
    err = io.TextIOWrapper(errors, encoding="utf-8", newline="", write_through=True)
    try:
        error_writer = csv.writer(err)
        error_writer.writerow(ERROR_HEADER)
        chunks = iter_chunks(hashing, require_target=False, chunk_rows=chunk_rows)  # type: ignore[arg-type]
        for number, chunk in enumerate(chunks):
            counts.predicted += _write_predictions(out, chunk, predictor, header=number == 0)
            error_writer.writerows((p.row, p.column, p.reason) for p in chunk.problems)
            counts.failed += len({p.row for p in chunk.problems})
            counts.bytes_read = hashing.size
            if after_chunk is not None:
                after_chunk(counts)
    finally:
        # Leave the binary streams open: their owners decide to publish or abort.
        out.flush()
        err.flush()
        out.detach()
        err.detach()
    counts.sha256 = hashing.digest.hexdigest()
    return counts
