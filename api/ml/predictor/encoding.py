"""Target-encoder tables as plain dictionaries and arrays.

Rather than re-deriving category_encoders' arithmetic (smoothing, hierarchy,
min-group lumping, handle_unknown/handle_missing policies), the fitted encoder is
*asked*: it transforms every category it knows, one unseen label and one missing
value, and those outputs become the table. What the table holds is therefore what
``encoder.transform`` returns, by construction.

Each column maps a category to an integer code; codes ``n`` (unknown) and ``n + 1``
(missing) follow the ``n`` known categories. ``values[code]`` is the encoded value,
NaN where the pipeline would refuse the row (handle_* = 'error' or 'return_nan':
the regressor rejects NaN input).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from api.ml.predictor.structure import UnpredictableInput, UnsupportedModel

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


def is_missing(value: object) -> bool:
    """True for the values pandas treats as missing in an object column."""
    if value is None:
        return True
    if isinstance(value, str):
        return False
    try:
        return bool(value != value)
    except TypeError:  # pandas.NA: its comparisons are NA, whose truth value is ambiguous
        return True


@dataclass
class CategoryColumn:
    """The encoder's output for one categorical column."""

    name: str
    codes: dict[Any, int]
    values: FloatArray
    reasons: dict[int, str] = field(default_factory=dict)

    @property
    def unknown(self) -> int:
        return len(self.codes)

    @property
    def missing(self) -> int:
        return len(self.codes) + 1

    def encode(self, raw: Sequence[object] | npt.NDArray[Any]) -> IntArray:
        """Map raw category values to codes (unknown and missing included)."""
        get, unknown = self.codes.get, self.unknown
        codes = np.fromiter((get(v, unknown) for v in raw), dtype=np.intp, count=len(raw))
        misses = np.flatnonzero(codes == unknown)
        for i in misses.tolist():
            if is_missing(raw[i]):
                codes[i] = self.missing
        return codes

    def refuse(self, code: int, raw: object, row: int) -> UnpredictableInput:
        """The error for a row whose code has no usable encoded value."""
        reason = self.reasons.get(
            code, "the encoder returns NaN for it, which the regressor rejects"
        )
        return UnpredictableInput(
            f"row {row}, column {self.name!r}: value {raw!r} cannot be encoded: {reason}"
        )


def _unseen_label(known: set[Any]) -> str:
    label = "\x00unseen"
    while label in known:
        label += "\x00"
    return label


def _probe(encoder: Any, frame: pd.DataFrame) -> pd.DataFrame | None:
    """Transform a probe frame; None when the encoder refuses it (handle_* = 'error')."""
    try:
        out = encoder.transform(frame)
    except ValueError:
        return None
    if not isinstance(out, pd.DataFrame):
        out = pd.DataFrame(np.asarray(out), columns=list(frame.columns))
    if list(out.columns) != list(frame.columns):
        raise UnsupportedModel(
            f"the TargetEncoder outputs columns {list(out.columns)} "
            f"for input {list(frame.columns)}; "
            "only a one-to-one encoding of each column is supported"
        )
    return out


def extract_columns(encoder: Any, columns: Sequence[str]) -> list[CategoryColumn]:
    """Build one CategoryColumn per encoded column by probing the fitted encoder."""
    known: dict[str, list[Any]] = {}
    for name in columns:
        categories: list[Any] = []
        for switch in encoder.ordinal_encoder.category_mapping:
            if switch["col"] == name:
                categories.extend(c for c in switch["mapping"].index if not is_missing(c))
        categories.extend((getattr(encoder, "min_group_lumping_", None) or {}).get(name, {}))
        known[name] = list(dict.fromkeys(categories))
        if not known[name]:
            raise UnsupportedModel(f"the TargetEncoder learned no categories for column {name!r}")
    width = max(len(v) for v in known.values())
    padded = {n: v + [v[0]] * (width - len(v)) for n, v in known.items()}
    known_out = _probe(encoder, pd.DataFrame(padded, dtype=object))
    if known_out is None:
        raise UnsupportedModel("the TargetEncoder refused to transform its own training categories")
    first = {n: [v[0]] for n, v in known.items()}
    result = []
    for name in columns:
        unseen = dict(first, **{name: [_unseen_label(set(known[name]))]})
        missing = dict(first, **{name: [np.nan]})
        unknown_out = _probe(encoder, pd.DataFrame(unseen, dtype=object))
        missing_out = _probe(encoder, pd.DataFrame(missing, dtype=object))
        count = len(known[name])
        values = np.empty(count + 2, dtype=np.float64)
        values[:count] = known_out[name].to_numpy(dtype=np.float64)[:count]
        values[count] = math.nan if unknown_out is None else float(unknown_out[name].iloc[0])
        values[count + 1] = math.nan if missing_out is None else float(missing_out[name].iloc[0])
        reasons = {}
        if unknown_out is None:
            reasons[count] = (
                "it was not seen in training and the encoder has handle_unknown='error'"
            )
        elif math.isnan(values[count]):
            reasons[count] = (
                "it was not seen in training and the encoder returns NaN for unseen values"
            )
        if missing_out is None:
            reasons[count + 1] = "it is missing and the encoder has handle_missing='error'"
        elif math.isnan(values[count + 1]):
            reasons[count + 1] = "it is missing and the encoder returns NaN for missing values"
        codes = {category: i for i, category in enumerate(known[name])}
        result.append(CategoryColumn(name, codes, values, reasons))
    return result
