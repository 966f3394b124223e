"""Reading a job's training rows (a CSV or a source's rows), fingerprinted as they stream."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from api.datasets.reading import Chunk, CsvSummary, HashingReader, iter_chunks, problems_as_details
from api.errors import InvalidInput
from api.jobs.execution.tabular import open_input
from api.ownership import Location


@dataclass
class LoadedCsv:
    frame: pd.DataFrame
    uri: str  # how messages name the input
    sha256: str
    rows: int
    lineage: dict[str, Any] = field(default_factory=dict)

    def training_data(self) -> dict[str, Any]:
        """What a model records of the rows it was fitted on."""
        return {**self.lineage, "sha256": self.sha256, "rows": self.rows}


def load_training_csv(location: Location, field: str) -> LoadedCsv:
    """The whole validated CSV (training needs every row in memory anyway).

    Any invalid row fails the job: silently training on part of the data would
    make a model nobody asked for. The error lists the problems found.
    """
    chunks: list[Chunk] = []
    summary = CsvSummary()
    with open_input(location, require_target=True) as opened:
        uri = opened.label
        hashing = HashingReader(opened.stream)
        try:
            for chunk in iter_chunks(hashing, require_target=True):  # type: ignore[arg-type]
                chunks.append(chunk)
                summary.rows += len(chunk.raw)
                summary.problem_count += len(chunk.problems)
                summary.problems.extend(chunk.problems[: max(0, 100 - len(summary.problems))])
        except InvalidInput as exc:
            raise InvalidInput(
                f"{field} ({uri}): {exc.message}", details=exc.details, code=exc.code
            ) from exc
    if summary.problem_count:
        raise InvalidInput(
            f"{field} ({uri}) has {summary.problem_count} invalid row(s)",
            details=problems_as_details(summary),
        )
    if summary.rows == 0:
        raise InvalidInput(f"{field} ({uri}) has no data rows")
    frame = pd.concat([c.valid for c in chunks], ignore_index=True)
    return LoadedCsv(frame, uri, hashing.digest.hexdigest(), summary.rows, opened.lineage)
