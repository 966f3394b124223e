"""The batch writer keeps every valid input row intact and predicts it like the model.

It echoes input lines verbatim when it can and falls back to pandas otherwise;
either way the output must read back as the input rows plus ``price_pred``.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
import pytest

from api.jobs.execution.batch_io import predict_csv
from api.ml.predictor import compile_predictor
from api.ml.schema import FEATURES
from api.ml.synth import generate
from api.ml.training import train
from api.ml.validation import validate_frame


@pytest.fixture(scope="module")
def model() -> Any:  # a fitted scikit-learn pipeline (the library is untyped)
    frame = validate_frame(generate(800, seed=11), require_target=True).frame
    return train(frame, preset="default", params={"n_estimators": 15, "max_depth": 3}).estimator


def _run(text: bytes, model: Any, chunk_rows: int) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    out, err = io.BytesIO(), io.BytesIO()
    counts = predict_csv(
        io.BytesIO(text), out, err, compile_predictor(model), chunk_rows=chunk_rows
    )
    predicted = pd.read_csv(io.BytesIO(out.getvalue()))
    errors = pd.read_csv(io.BytesIO(err.getvalue()))
    return predicted, errors, counts.failed


def _awkward_csv() -> tuple[bytes, pd.DataFrame]:
    rows = generate(40, seed=12).drop(columns=["price"])
    rows.insert(0, "note", [f'says "hi", row {i}' for i in range(len(rows))])  # quotes, commas
    rows.loc[3, "type"] = "palace"  # invalid
    rows.loc[7, "latitude"] = 12.0  # outside Chile
    rows["net_area"] = rows["net_area"].astype("float64")
    rows.loc[11, "net_area"] = 1e39  # a number, but beyond the float32 the trees compare
    text = rows.to_csv(index=False, lineterminator="\r\n").encode()
    return text, rows


@pytest.mark.parametrize("chunk_rows", [7, 100_000])
def test_valid_rows_come_back_unchanged_with_the_models_price(model: Any, chunk_rows: int) -> None:
    text, rows = _awkward_csv()
    predicted, errors, failed = _run(text, model, chunk_rows)
    expected = rows.drop(index=[3, 7, 11]).reset_index(drop=True)
    pd.testing.assert_frame_equal(predicted[list(rows.columns)], expected, check_dtype=False)
    np.testing.assert_allclose(
        predicted["price_pred"], model.predict(expected[FEATURES]), rtol=1e-6
    )
    assert failed == 3
    assert sorted(errors["row"].unique()) == [4, 8, 12]


def test_a_file_with_only_a_header_gives_an_empty_output(model: Any) -> None:
    header = ",".join(FEATURES).encode() + b"\n"
    out, err = io.BytesIO(), io.BytesIO()
    counts = predict_csv(io.BytesIO(header), out, err, compile_predictor(model), chunk_rows=10)
    assert counts.predicted == 0 and counts.failed == 0
