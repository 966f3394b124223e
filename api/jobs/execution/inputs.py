"""Reading a job's input CSVs from the object store, fingerprinted as they stream."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from api.datasets.reading import Chunk, CsvSummary, HashingReader, iter_chunks, problems_as_details
from api.errors import InvalidInput
from api.storage import get_store


@dataclass
class LoadedCsv:
    frame: pd.DataFrame
    uri: str
    sha256: str
    rows: int


def load_training_csv(uri: str, field: str) -> LoadedCsv:
    """The whole validated CSV (training needs every row in memory anyway).

    Any invalid row fails the job: silently training on part of the data would
    make a model nobody asked for. The error lists the problems found.
    """
    chunks: list[Chunk] = []
    summary = CsvSummary()
    with get_store().open_read(uri) as stream:
        hashing = HashingReader(stream)
        try:
            for chunk in iter_chunks(hashing, require_target=True):  # type: ignore[arg-type]
                chunks.append(chunk)
                summary.rows += len(chunk.raw)
                summary.problem_count += len(chunk.problems)
                summary.problems.extend(chunk.problems[: max(0, 100 - len(summary.problems))])
        except InvalidInput as exc:
            raise InvalidInput(f"{field} ({uri}): {exc.message}", details=exc.details) from exc
    if summary.problem_count:
        raise InvalidInput(
            f"{field} ({uri}) has {summary.problem_count} invalid row(s)",
            details=problems_as_details(summary),
        )
    if summary.rows == 0:
        raise InvalidInput(f"{field} ({uri}) has no data rows")
    frame = pd.concat([c.valid for c in chunks], ignore_index=True)
    return LoadedCsv(frame, uri, hashing.digest.hexdigest(), summary.rows)
