"""Row-level validation of property data, for training and for predictions.

Every problem is reported with the row and column it concerns, so a user can fix
a file in one pass instead of one error per upload. Checks are vectorised per
column; Python loops run only over the offending cells to build ``Problem``
objects. Callers validate large CSVs chunk by chunk and pass ``row_offset`` so
row numbers stay file-wide.

Validation rejects values that cannot be a property at all (negative areas,
text in a numeric column, coordinates outside Chile). Values that are legal but
unhelpful for training (a zero area, a price of 0) pass here and are dropped by
the training-time cleaning rules in ``api.ml.cleaning``, because a prediction
request for such a row is still answerable.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from api.ml.schema import (
    AREA_COLUMNS,
    CATEGORICAL,
    COUNT_COLUMNS,
    FEATURES,
    FLOAT32_MAX,
    LATITUDE_RANGE,
    LONGITUDE_RANGE,
    NUMERIC,
    PROPERTY_TYPES,
    TARGET,
)

_ALLOWED_TYPES = ", ".join(sorted(PROPERTY_TYPES))


@dataclass(frozen=True, slots=True)
class Problem:
    """One bad cell. ``row`` is the 1-based data row in the file (0: the header)."""

    row: int
    column: str
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "reason": self.reason}


@dataclass(slots=True)
class ValidationResult:
    """The valid rows, normalised, plus every problem found in the others.

    ``frame`` keeps the input's index, and ``rows`` holds the file row number of
    each of its rows, so predictions can be joined back to the input either way.
    """

    frame: pd.DataFrame
    rows: np.ndarray
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def required_columns(*, require_target: bool) -> list[str]:
    return [*FEATURES, TARGET] if require_target else list(FEATURES)


def missing_columns(columns: Iterable[object], *, require_target: bool = False) -> list[str]:
    """Required columns absent from a header, in schema order (cheap pre-check).

    Header names are compared after trimming and lower-casing, as ``validate_frame``
    does, so ``" Type"`` counts as ``type``.
    """
    present = {str(c).strip().lower() for c in columns}
    return [c for c in required_columns(require_target=require_target) if c not in present]


def validate_frame(
    df: pd.DataFrame, *, require_target: bool, row_offset: int = 0
) -> ValidationResult:
    """Check ``df`` against the schema; return its valid rows and all problems.

    ``row_offset`` is the number of data rows before this chunk in the file.
    With ``require_target=False`` a ``price`` column, if present, is ignored.
    """
    df = df.rename(columns=lambda c: str(c).strip().lower())
    wanted = required_columns(require_target=require_target)
    absent = missing_columns(df.columns, require_target=require_target)
    row_numbers = np.arange(1, len(df) + 1, dtype=np.int64) + row_offset
    if absent:
        problems = [Problem(0, c, "missing column") for c in absent]
        empty = pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in wanted})
        return ValidationResult(empty, np.empty(0, dtype=np.int64), problems)

    collector = _Collector(len(df), row_numbers)
    out: dict[str, pd.Series] = {}
    for column in CATEGORICAL:
        out[column] = _check_text(df[column], column, collector)
    numeric = [*NUMERIC, TARGET] if require_target else NUMERIC
    for column in numeric:
        out[column] = _check_numeric(df[column], column, collector)

    valid = ~collector.bad
    frame = pd.DataFrame({c: out[c] for c in wanted}, index=df.index)[valid]
    return ValidationResult(frame, row_numbers[valid], collector.problems())


def _dtype(column: str) -> str:
    return "float64" if column in NUMERIC or column == TARGET else "str"


class _Collector:
    """Accumulates (mask, column, reason) triples; expands them to Problems at the end."""

    def __init__(self, n_rows: int, row_numbers: np.ndarray) -> None:
        self.bad = np.zeros(n_rows, dtype=bool)
        self._row_numbers = row_numbers
        self._found: list[tuple[np.ndarray, str, list[str]]] = []

    def add(self, mask: np.ndarray, column: str, reason: str | list[str]) -> None:
        """Record ``reason`` for rows where ``mask`` is true (a list: one reason per hit)."""
        if not mask.any():
            return
        self.bad |= mask
        positions = np.flatnonzero(mask)
        reasons = reason if isinstance(reason, list) else [reason] * len(positions)
        self._found.append((positions, column, reasons))

    def problems(self) -> list[Problem]:
        """All problems in file order: by row, then by schema column order."""
        order = {c: i for i, c in enumerate([*FEATURES, TARGET])}
        found = [
            (
                int(self._row_numbers[p]),
                order[column],
                Problem(int(self._row_numbers[p]), column, r),
            )
            for positions, column, reasons in self._found
            for p, r in zip(positions, reasons, strict=True)
        ]
        found.sort(key=lambda item: (item[0], item[1]))
        return [item[2] for item in found]


def _check_text(raw: pd.Series, column: str, collector: _Collector) -> pd.Series:
    # Text columns hold a handful of distinct values: normalise the distinct values
    # only and map them back, instead of running Python string code on every row.
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    normalised = np.array([str(u).strip().lower() for u in uniques] + [""], dtype=object)
    text_values = normalised[codes]  # code -1 (missing) picks the trailing ""
    text = pd.Series(pd.array(text_values, dtype="str"), index=raw.index, name=column)
    empty = text_values == ""
    collector.add(empty, column, "empty value")
    if column == "type":
        allowed = np.array([u in PROPERTY_TYPES for u in normalised], dtype=bool)
        unknown = ~empty & ~allowed[codes]
        values = text_values[unknown].tolist()
        collector.add(
            unknown, column, [f"unknown type {v!r}; allowed: {_ALLOWED_TYPES}" for v in values]
        )
    return text


_TOO_LARGE = f"the trees compare float32, at most {np.float32(FLOAT32_MAX)!s}"


def _check_numeric(raw: pd.Series, column: str, collector: _Collector) -> pd.Series:
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        values = raw.astype("float64")
        missing = values.isna().to_numpy()
        not_number = np.zeros(len(raw), dtype=bool)
    else:
        # A chunk whose cells are all true/false reads as booleans, which to_numeric
        # would turn into 1 and 0: as text they are refused, whatever the chunking.
        text = raw.astype("str") if pd.api.types.is_bool_dtype(raw.dtype) else raw
        values = pd.to_numeric(text, errors="coerce").astype("float64")
        unparsed = values.isna().to_numpy()
        # Only the cells that did not parse need the (slow, per-cell) blank test.
        suspects = raw[unparsed]
        blank = suspects.isna().to_numpy() | (suspects.astype("str").str.strip() == "").to_numpy()
        missing = np.zeros(len(raw), dtype=bool)
        missing[np.flatnonzero(unparsed)[blank]] = True
        not_number = unparsed & ~missing
    reason_missing = "missing price" if column == TARGET else "empty value"
    collector.add(missing, column, reason_missing)
    if not_number.any():
        shown = raw[not_number].astype("str").tolist()
        collector.add(not_number, column, [f"not a number: {v!r}" for v in shown])

    array = values.to_numpy()
    infinite = np.isinf(array)
    collector.add(infinite, column, "not a finite number")
    finite = np.isfinite(array)
    # The trees compare features as float32, and a price reaches them through the
    # target encoding: a value that overflows float32 cannot be predicted nor
    # trained on, so it is the row's problem, not the job's.
    with np.errstate(over="ignore"):
        overflows = finite & np.isinf(array.astype(np.float32))
    if overflows.any():
        shown = array[overflows].tolist()
        collector.add(
            overflows, column, [f"{v!r} is too large for the model ({_TOO_LARGE})" for v in shown]
        )
    finite &= ~overflows
    if column in AREA_COLUMNS:
        _add_with_value(collector, finite & (array < 0), column, "negative area", array)
    elif column in COUNT_COLUMNS:
        _add_with_value(collector, finite & (array < 0), column, "negative count", array)
    elif column == TARGET:
        _add_with_value(collector, finite & (array < 0), column, "negative price", array)
    elif column in ("latitude", "longitude"):
        low, high = LATITUDE_RANGE if column == "latitude" else LONGITUDE_RANGE
        outside = finite & ((array < low) | (array > high))
        _add_with_value(
            collector, outside, column, f"{column} outside Chile ({low} to {high})", array
        )
    return values


def _add_with_value(
    collector: _Collector, mask: np.ndarray, column: str, reason: str, array: np.ndarray
) -> None:
    if mask.any():
        collector.add(mask, column, [f"{reason}: {v:g}" for v in array[mask]])
