"""A fast predictor compiled from a fitted pipeline, for serving and batch inference.

``compile_predictor`` turns the fitted pipeline of the presets (optionally wrapped
in a log-target TransformedTargetRegressor) into plain dictionaries and arrays
evaluated by compiled kernels. Its outputs equal ``estimator.predict`` (the tests
allow 1e-6 relative error; in practice they are bit-identical), without pandas or
scikit-learn on the hot path.

When the trees split on no numeric column (the notebook preset drops them), the
prediction depends only on the (type, sector) codes, so every combination is
precomputed into a small table and a prediction is two dictionary look-ups and an
array index. Otherwise rows are encoded in blocks and handed to the forest kernels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from api.ml.predictor.encoding import CategoryColumn, extract_columns, is_missing
from api.ml.predictor.forest import Forest, compile_forest, default_threads
from api.ml.predictor.structure import UnpredictableInput, recognise
from api.ml.schema import CATEGORICAL, NUMERIC

FloatArray = npt.NDArray[np.float64]
BLOCK_ROWS = 8192
_NON_FINITE = (
    "row {row}, column {column!r}: value must be finite and within float32 range "
    "(the model compares features as float32)"
)


class FastPredictor:
    """Predicts like the compiled pipeline; picklable (plain dicts and arrays)."""

    def __init__(
        self,
        columns: dict[str, CategoryColumn],
        layout: tuple[str, ...],
        forest: Forest,
        inverse: str | None,
    ) -> None:
        self.columns = columns
        self.layout = layout
        self.forest = forest
        self.inverse = inverse
        # Threads that share a large batch (the kernels release the GIL); a caller
        # that already runs one process per core may set 1.
        self.threads = default_threads()
        # numeric features the regressor sees, with their column in the numeric block
        self.numeric_slots = [(j, NUMERIC.index(n)) for j, n in enumerate(layout) if n in NUMERIC]
        used = {layout[i] for i in forest.used_features}
        self.table: FloatArray | None = None
        if used <= set(CATEGORICAL):
            self.table = self._combination_table()
        else:
            forest.warm_up()

    @property
    def uses_numeric(self) -> bool:
        """Whether the regressor receives any numeric column (then it is required)."""
        return bool(self.numeric_slots)

    def _finish(self, raw: FloatArray) -> FloatArray:
        if self.inverse == "exp":
            return np.exp(raw)
        if self.inverse == "expm1":
            return np.expm1(raw)
        return raw

    def _combination_table(self) -> FloatArray:
        """Prediction for every (type code, sector code) pair, NaN where refused."""
        t_values, s_values = self.columns["type"].values, self.columns["sector"].values
        t_codes, s_codes = np.meshgrid(
            np.arange(t_values.size), np.arange(s_values.size), indexing="ij"
        )
        encoded = {"type": t_values[t_codes.ravel()], "sector": s_values[s_codes.ravel()]}
        X = np.zeros((t_codes.size, len(self.layout)), dtype=np.float32)
        for j, name in enumerate(self.layout):
            if name in encoded:
                X[:, j] = encoded[name]
        valid = np.isfinite(X).all(axis=1)
        table = np.full(t_codes.size, np.nan)
        table[valid] = self._finish(self.forest.raw_predict(X[valid]))
        return table.reshape(t_codes.shape)

    # ------------------------------------------------------------------ entry points

    def predict_records(self, records: Sequence[Mapping[str, object]]) -> FloatArray:
        """Predict validated records (dicts with the FEATURES keys); no pandas."""
        if len(records) == 1:
            return self._predict_one(records[0])
        types = [r["type"] for r in records]
        sectors = [r["sector"] for r in records]
        numeric = None
        if self.uses_numeric:
            numeric = np.array([[r[name] for name in NUMERIC] for r in records], dtype=np.float64)
        return self._predict_block(types, sectors, numeric, 0)

    def predict_columns(
        self,
        type: npt.NDArray[Any] | Sequence[object],
        sector: npt.NDArray[Any] | Sequence[object],
        numeric: FloatArray | None = None,
    ) -> FloatArray:
        """Predict column arrays; ``numeric`` is (n, 6) in NUMERIC order.

        Rows are processed in blocks of BLOCK_ROWS so memory stays bounded however
        large the batch; each block is shared among ``self.threads`` threads.
        ``numeric`` may be None only for models that use no numeric column.
        """
        n = len(type)
        if len(sector) != n:
            raise ValueError(f"type has {n} rows but sector has {len(sector)}")
        if numeric is not None:
            numeric = np.asarray(numeric, dtype=np.float64)
            if numeric.shape != (n, len(NUMERIC)):
                raise ValueError(
                    f"numeric must have shape ({n}, {len(NUMERIC)}), got {numeric.shape}"
                )
        elif self.uses_numeric:
            raise ValueError(
                f"this model uses numeric columns; pass numeric as ({n}, {len(NUMERIC)})"
            )
        out = np.empty(n, dtype=np.float64)
        for start in range(0, n, BLOCK_ROWS):
            stop = min(start + BLOCK_ROWS, n)
            block = None if numeric is None else numeric[start:stop]
            out[start:stop] = self._predict_block(
                type[start:stop], sector[start:stop], block, start
            )
        return out

    def predict_frame(self, df: pd.DataFrame) -> FloatArray:
        """Predict a DataFrame with the FEATURES columns (any extra columns ignored)."""
        numeric = df[list(NUMERIC)].to_numpy(dtype=np.float64) if self.uses_numeric else None
        return self.predict_columns(
            df["type"].to_numpy(dtype=object), df["sector"].to_numpy(dtype=object), numeric
        )

    # ------------------------------------------------------------------ internals

    def _predict_one(self, record: Mapping[str, object]) -> FloatArray:
        """One record in plain Python up to the tree step: the serving latency path."""
        encoded: dict[str, float] = {}
        codes: dict[str, int] = {}
        for name in CATEGORICAL:
            column, value = self.columns[name], record[name]
            code = column.codes.get(value)
            if code is None:
                code = column.missing if is_missing(value) else column.unknown
            encoded[name] = float(column.values[code])
            codes[name] = code
            if math.isnan(encoded[name]):
                raise column.refuse(code, value, 0)
        if self.table is not None:
            result = self.table[codes["type"], codes["sector"]]
            return np.array([result], dtype=np.float64)
        # float32 rounding, as the regressor's input validation does
        x = np.array(
            [encoded[name] if name in encoded else record[name] for name in self.layout],
            dtype=np.float32,
        )
        raw = self.forest.raw_predict_one(x)
        if math.isnan(raw):  # a value is not finite (or overflowed float32)
            bad = self.layout[int(np.flatnonzero(~np.isfinite(x))[0])]
            raise UnpredictableInput(_NON_FINITE.format(row=0, column=bad))
        return self._finish(np.array([raw], dtype=np.float64))

    def _predict_block(
        self,
        types: Sequence[object] | npt.NDArray[Any],
        sectors: Sequence[object] | npt.NDArray[Any],
        numeric: FloatArray | None,
        first_row: int,
    ) -> FloatArray:
        raw = {"type": types, "sector": sectors}
        codes = {name: self.columns[name].encode(raw[name]) for name in CATEGORICAL}
        if numeric is not None and self.numeric_slots:
            rounded = numeric[:, [k for _, k in self.numeric_slots]].astype(np.float32)
            if not np.isfinite(rounded).all():
                self._refuse_numeric(rounded, first_row)
        if self.table is not None:
            result = self.table[codes["type"], codes["sector"]]
            if np.isnan(result).any():
                self._refuse_codes(codes, raw, first_row)
            return result
        X = np.empty((len(types), len(self.layout)), dtype=np.float32)
        for j, name in enumerate(self.layout):
            if name in codes:
                X[:, j] = self.columns[name].values[codes[name]]
        for slot, (j, _) in enumerate(self.numeric_slots):
            X[:, j] = rounded[:, slot]
        if np.isnan(X).any():
            self._refuse_codes(codes, raw, first_row)
        return self._finish(self.forest.raw_predict(X, self.threads))

    def _refuse_codes(
        self, codes: dict[str, npt.NDArray[np.intp]], raw: dict[str, Any], first_row: int
    ) -> None:
        """Raise for the first row (then column, in FEATURES order) that cannot be encoded."""
        bad = {
            name: np.flatnonzero(np.isnan(self.columns[name].values[codes[name]]))
            for name in CATEGORICAL
        }
        row, name = min((int(rows[0]), name) for name, rows in bad.items() if rows.size)
        raise self.columns[name].refuse(int(codes[name][row]), raw[name][row], first_row + row)

    def _refuse_numeric(self, rounded: npt.NDArray[np.float32], first_row: int) -> None:
        rows, slots = np.nonzero(~np.isfinite(rounded))
        name = NUMERIC[self.numeric_slots[int(slots[0])][1]]
        raise UnpredictableInput(_NON_FINITE.format(row=first_row + int(rows[0]), column=name))


def compile_predictor(estimator: Any) -> FastPredictor:
    """Compile a fitted preset pipeline (optionally target-transformed) into a FastPredictor.

    Raises UnsupportedModel, naming the part it cannot reproduce, for any other structure.
    """
    structure = recognise(estimator)
    columns = extract_columns(structure.encoder, structure.encoder_columns)
    forest = compile_forest(structure.regressor)
    return FastPredictor({c.name: c for c in columns}, structure.layout, forest, structure.inverse)
