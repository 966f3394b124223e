"""The compiled predictor on the presets' own models, every row, odd inputs included.

The contract: every prediction within 1e-6 relative of the scikit-learn pipeline,
through each entry point (a frame, columns with one or two threads, one record at
a time), and the same refusals where the pipeline refuses.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from api.ml.predictor import FastPredictor, UnpredictableInput, compile_predictor
from api.ml.predictor.forest import MIN_ROWS_PER_THREAD
from api.ml.presets import resolve_params
from api.ml.schema import FEATURES, LATITUDE_RANGE, LONGITUDE_RANGE, NUMERIC, TARGET
from api.ml.training import build_pipeline
from api.ml.validation import validate_frame
from tests.client_data import client_train_csv, needs_client_train_csv
from tests.ml.test_predictor import record, records


def fit(preset: str, frame: pd.DataFrame, **overrides: Any) -> Any:
    estimator = build_pipeline(preset, resolve_params(preset, overrides))
    return estimator.fit(frame[FEATURES], frame[TARGET])


@pytest.fixture(scope="module")
def default_like(synthetic_train: pd.DataFrame) -> Any:
    # The default preset's trees (depth 8, subsampled rows and features), fewer of them.
    return fit("default", synthetic_train, n_estimators=60)


@pytest.fixture(scope="module")
def notebook(synthetic_train: pd.DataFrame) -> Any:
    return fit("notebook", synthetic_train, n_estimators=100)


def split_values(estimator: Any, column: int) -> np.ndarray:
    """Every threshold the regressor compares column ``column`` with."""
    trees = estimator.steps[-1][1].estimators_[:, 0]
    found = [t.tree_.threshold[t.tree_.feature == column] for t in trees]
    return np.unique(np.concatenate(found))


def boundary_rows(estimator: Any, base: pd.DataFrame) -> pd.DataFrame:
    """Rows whose numeric values sit on split thresholds and on their float32 neighbours.

    A threshold lies between two float32 values; a value rounded to either side must
    go the pipeline's way, and so must one equal to the threshold's own float32.
    """
    layout = estimator.steps[0][1].get_feature_names_out()
    rows = []
    for column, name in enumerate(layout):
        feature = name.split("__")[-1]
        if feature not in NUMERIC:
            continue
        thresholds = split_values(estimator, column)[::7]  # a spread sample, ~100 per column
        single = thresholds.astype(np.float32)
        for values in (
            thresholds,
            single,
            np.nextafter(single, np.float32(np.inf)),
            np.nextafter(single, np.float32(-np.inf)),
        ):
            block = base.sample(len(values), replace=True, random_state=column).copy()
            block[feature] = values.astype(np.float64)
            rows.append(block)
    return pd.concat(rows, ignore_index=True)


def odd_rows(base: pd.DataFrame) -> pd.DataFrame:
    """Unknown categories and the extremes the validator lets through."""
    odd = base.iloc[:12].copy().reset_index(drop=True)
    odd.loc[0:2, "sector"] = ["pirque", "Las Condes", " vitacura"]  # unseen spellings
    odd.loc[3, "type"] = "oficina"
    odd.loc[4, ["net_usable_area", "net_area", "n_rooms", "n_bathroom"]] = 0.0
    odd.loc[5, ["net_usable_area", "net_area"]] = [1e30, 1e-30]  # finite in float32
    odd.loc[6, ["latitude", "longitude"]] = [LATITUDE_RANGE[0], LONGITUDE_RANGE[0]]
    odd.loc[7, ["latitude", "longitude"]] = [LATITUDE_RANGE[1], LONGITUDE_RANGE[1]]
    odd.loc[8, "net_area"] = -0.0
    odd.loc[9, "n_rooms"] = 3.4028234e38  # the largest float32
    return odd


def assert_matches_everywhere(estimator: Any, predictor: FastPredictor, rows: pd.DataFrame) -> None:
    expected = estimator.predict(rows[FEATURES])

    def close(actual: np.ndarray) -> None:
        assert actual.shape == expected.shape
        assert np.max(np.abs(actual - expected) / np.abs(expected)) <= 1e-6

    close(predictor.predict_frame(rows))
    types, sectors = rows["type"].to_numpy(dtype=object), rows["sector"].to_numpy(dtype=object)
    numeric = rows[NUMERIC].to_numpy(dtype=np.float64)
    for threads in (1, 2):
        predictor.threads = threads
        close(predictor.predict_columns(types, sectors, numeric))
    close(np.concatenate([predictor.predict_records([one]) for one in records(rows[FEATURES])]))


def test_default_like_model_matches_on_every_row_and_boundary(
    default_like: Any, synthetic_test: pd.DataFrame
) -> None:
    predictor = compile_predictor(default_like)
    assert predictor.table is None and predictor.forest.roots is None  # padded trees
    rows = pd.concat(
        [synthetic_test, boundary_rows(default_like, synthetic_test), odd_rows(synthetic_test)],
        ignore_index=True,
    )
    assert len(rows) > 2 * MIN_ROWS_PER_THREAD  # so two threads really split the rows
    assert_matches_everywhere(default_like, predictor, rows)


def test_notebook_model_matches_on_every_row(notebook: Any, synthetic_test: pd.DataFrame) -> None:
    predictor = compile_predictor(notebook)
    assert predictor.table is not None  # no numeric split: the (type, sector) table
    rows = pd.concat([synthetic_test, odd_rows(synthetic_test)], ignore_index=True)
    assert_matches_everywhere(notebook, predictor, rows)


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
@pytest.mark.parametrize(
    ("column", "value"),
    [("latitude", np.nan), ("net_area", np.inf), ("n_rooms", 3.5e38), ("longitude", -np.inf)],
)
def test_values_the_pipeline_refuses_are_refused_naming_the_column(
    default_like: Any, synthetic_test: pd.DataFrame, column: str, value: float
) -> None:
    rows = synthetic_test.iloc[:3].copy()
    rows.loc[rows.index[2], column] = value
    with pytest.raises(ValueError):
        default_like.predict(rows[FEATURES])
    predictor = compile_predictor(default_like)
    with pytest.raises(UnpredictableInput, match=rf"row 2, column {column!r}"):
        predictor.predict_frame(rows)
    with pytest.raises(UnpredictableInput, match=rf"row 0, column {column!r}"):
        predictor.predict_records([record(rows.iloc[2][FEATURES])])


@pytest.mark.slow
@needs_client_train_csv
def test_default_preset_on_the_client_data_matches_on_every_row() -> None:
    frame = validate_frame(pd.read_csv(client_train_csv()), require_target=True).frame
    # The default preset on the client's rows; 300 of its 1,000 stages keep the fit short.
    estimator = fit("default", frame, n_estimators=300)
    predictor = compile_predictor(estimator)
    rows = pd.concat([frame, odd_rows(frame)], ignore_index=True)
    expected = estimator.predict(rows[FEATURES])
    actual = predictor.predict_frame(rows)
    assert np.max(np.abs(actual - expected) / np.abs(expected)) <= 1e-6
    sample = rows.sample(300, random_state=0)
    one_by_one = [predictor.predict_records([r])[0] for r in records(sample[FEATURES])]
    single_expected = estimator.predict(sample[FEATURES])
    assert np.max(np.abs(np.array(one_by_one) - single_expected) / single_expected) <= 1e-6
