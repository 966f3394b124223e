"""Predicting a CSV stream into a predictions stream and an errors stream.

Shared by the batch-inference job and the offline ``tasador model predict``
command, so both write the same format: the input columns plus ``price_pred``
(and ``price_lower``, ``price_upper`` when an interval is asked) for valid
rows, and ``row,column,reason`` for each problem of the others.

Valid records are written back as they came, with the prediction appended,
instead of re-formatting the parsed values: ``DataFrame.to_csv`` spent about
80 % of the time of a batch job turning floats back into text. Chunks whose
records cannot be echoed faithfully (see ``TextChunk``) still go through
``to_csv``. Either way a reader parses the same values.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from api.datasets.reading import HashingReader, TextChunk, iter_text_chunks
from api.errors import Conflict
from api.ml.bundle import IntervalUnavailable, ModelBundle
from api.ml.intervals import IntervalModel
from api.ml.predictor import FastPredictor, UnpredictableInput

PREDICTION_COLUMN = "price_pred"
INTERVAL_COLUMNS = ("price_lower", "price_upper")
Intervals = tuple[float, IntervalModel]  # (level, calibration)
ERROR_HEADER = ("row", "column", "reason")
Columns = list[npt.NDArray[np.float64]]  # the values of the added columns, valid rows only


@dataclass
class BatchCounts:
    predicted: int = 0
    failed: int = 0
    bytes_read: int = 0
    sha256: str = ""


def requested_intervals(bundle: ModelBundle, level: object) -> Intervals | None:
    """A batch request's ``interval`` with the model's calibration, or None when not
    asked; 409 interval_unavailable when the artifact has none (submit checked the
    registered metrics, but the artifact decides)."""
    if level is None:
        return None
    try:
        return float(level), bundle.require_intervals()  # type: ignore[arg-type]
    except IntervalUnavailable as exc:
        raise Conflict(str(exc), code="interval_unavailable") from exc


def _predict(predictor: FastPredictor, valid: pd.DataFrame) -> npt.NDArray[np.float64]:
    """Predictions for the valid rows of a chunk.

    A model that sees only ``type`` and ``sector`` (the notebook preset) gives one
    value per pair, so the few distinct pairs are predicted and spread back: the
    per-row category look-up would otherwise cost more than everything else.
    """
    if predictor.table is None or predictor.uses_numeric:
        return predictor.predict_frame(valid)
    type_codes, types = pd.factorize(valid["type"])
    sector_codes, sectors = pd.factorize(valid["sector"])
    if (type_codes < 0).any() or (sector_codes < 0).any():
        return predictor.predict_frame(valid)
    pair_codes, pairs = pd.factorize(type_codes * len(sectors) + sector_codes)
    pair_types = np.asarray(types, dtype=object)[pairs // len(sectors)]
    pair_sectors = np.asarray(sectors, dtype=object)[pairs % len(sectors)]
    try:
        per_pair = predictor.predict_columns(pair_types, pair_sectors)
    except UnpredictableInput:
        return predictor.predict_frame(valid)  # raises again, naming the right row
    return per_pair[pair_codes]


def _formatted(values: npt.NDArray[np.float64]) -> list[Any]:
    """Each value as ``to_csv`` writes a float (shortest round-trip repr), as bytes."""
    codes, uniques = pd.factorize(values)
    text = np.char.encode(np.asarray(uniques).astype(str), "ascii")
    return list(np.asarray(text, dtype=object)[codes])


def _echo(out: IO[bytes], part: TextChunk, positions: npt.NDArray[np.intp], prices: Any) -> None:
    assert part.spans is not None
    starts, ends = part.spans[0][positions].tolist(), part.spans[1][positions].tolist()
    text = part.text
    lines = [text[s:e] + b"," + p for s, e, p in zip(starts, ends, prices, strict=True)]
    lines.append(b"")
    out.write(b"\n".join(lines))


def _predicted_columns(
    predictor: FastPredictor, part: TextChunk, intervals: Intervals | None
) -> Columns:
    """The added columns' values for the valid rows of a chunk (none when it has none)."""
    valid = part.chunk.valid
    if valid.empty:
        return []
    predicted = _predict(predictor, valid)
    if intervals is None:
        return [predicted]
    return [predicted, *intervals[1].bounds(predicted, intervals[0])]


def _write_predictions(
    out: IO[bytes],
    text_out: IO[str],
    part: TextChunk,
    columns: Columns,
    added: list[str],
    header: bool,
) -> int:
    chunk = part.chunk
    if header:
        text_out.write(",".join([*map(str, chunk.raw.columns), *added]) + "\n")
    if not columns:
        return 0
    positions = chunk.raw.index.get_indexer(chunk.valid.index)
    if part.spans is None:
        rows = chunk.raw.iloc[positions]
        values = dict(zip(added, columns, strict=True))
        rows.assign(**values).to_csv(text_out, header=False, index=False)
    else:
        text_out.flush()
        cells = [_formatted(column) for column in columns]
        joined = cells[0] if len(cells) == 1 else [b",".join(r) for r in zip(*cells, strict=True)]
        _echo(out, part, positions, joined)
    return len(positions)


def _ahead(
    chunks: Iterator[TextChunk], predict: Callable[[TextChunk], Columns]
) -> Generator[tuple[TextChunk, Columns], None, None]:
    """Each chunk with its predictions, the next chunk read while this one is predicted.

    Reading and checking rows is Python and pandas; the tree kernels run without
    the GIL. Predicting chunk k on a thread while the caller writes chunk k - 1
    and reads chunk k + 1 keeps both cores busy instead of alternating between
    the two kinds of work. Errors come in row order: a chunk that cannot be read
    first lets the chunk before it raise its own prediction error.
    """
    with ThreadPoolExecutor(1, thread_name_prefix="predict") as worker:
        pending: tuple[TextChunk, Future[Columns]] | None = None
        while True:
            try:
                part = next(chunks, None)
            except BaseException:
                if pending is not None:
                    pending[1].result()
                raise
            following = None if part is None else (part, worker.submit(predict, part))
            if pending is not None:
                yield pending[0], pending[1].result()
            if following is None:
                return
            pending = following


def predict_csv(
    source: IO[bytes],
    predictions: IO[bytes],
    errors: IO[bytes],
    predictor: FastPredictor,
    *,
    chunk_rows: int,
    after_chunk: Callable[[BatchCounts], None] | None = None,
    first_row: int = 1,
    headers: bool = True,
    intervals: Intervals | None = None,
) -> BatchCounts:
    """Stream ``source`` through ``predictor``; ``after_chunk`` may raise to stop.

    A partition of a larger input passes the number of its first data row and,
    unless it is the first partition, ``headers=False``: its outputs then
    continue those of the partitions before it. ``intervals`` (a level and a
    calibration) adds ``price_lower``/``price_upper``.
    """
    counts = BatchCounts()
    hashing = HashingReader(source)
    out = io.TextIOWrapper(predictions, encoding="utf-8", newline="", write_through=True)
    err = io.TextIOWrapper(errors, encoding="utf-8", newline="", write_through=True)
    try:
        error_writer = csv.writer(err)
        if headers:
            error_writer.writerow(ERROR_HEADER)
        chunks = iter_text_chunks(hashing, chunk_rows=chunk_rows, first_row=first_row)  # type: ignore[arg-type]
        added = [PREDICTION_COLUMN, *(INTERVAL_COLUMNS if intervals is not None else ())]
        predicted = _ahead(chunks, lambda part: _predicted_columns(predictor, part, intervals))
        # Closed at once when a chunk's write or ``after_chunk`` raises: the chunk
        # being predicted ahead is waited for, not left running.
        with closing(predicted):
            for number, (part, columns) in enumerate(predicted):
                header = headers and number == 0
                counts.predicted += _write_predictions(
                    predictions, out, part, columns, added, header
                )
                problems = part.chunk.problems
                error_writer.writerows((p.row, p.column, p.reason) for p in problems)
                counts.failed += len({p.row for p in problems})
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
