"""The compiled predictor answers like the scikit-learn pipeline it was built from."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest
from category_encoders import TargetEncoder
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from api.ml.predictor import (
    BLOCK_ROWS,
    UnpredictableInput,
    UnsupportedModel,
    compile_kernels,
    compile_predictor,
    kernels,
)
from api.ml.predictor.forest import PERFECT_MAX_DEPTH
from api.ml.schema import NUMERIC
from tests.perf.predictor_bench import time_batch, time_single_row

SECTORS = ["las condes", "vitacura", "providencia", "ñuñoa", "la reina", "lo barnechea", "macul"]
SECTOR_PREMIUM = dict(zip(SECTORS, [1.3, 1.5, 1.2, 1.0, 1.1, 1.4, 0.8], strict=True))


def make_frame(rows: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    kind = rng.choice(["casa", "departamento"], rows, p=[0.35, 0.65])
    sector = rng.choice(SECTORS, rows, p=[0.25, 0.15, 0.2, 0.2, 0.1, 0.06, 0.04])
    usable = rng.uniform(30, 500, rows).round(1)
    frame = pd.DataFrame(
        {
            "type": kind,
            "sector": sector,
            "net_usable_area": usable,
            "net_area": (usable * rng.uniform(1.0, 1.6, rows)).round(1),
            "n_rooms": rng.integers(1, 7, rows).astype(float),
            "n_bathroom": rng.integers(1, 5, rows).astype(float),
            "latitude": rng.uniform(-33.50, -33.35, rows),
            "longitude": rng.uniform(-70.65, -70.50, rows),
        }
    )
    premium = frame["sector"].map(SECTOR_PREMIUM).to_numpy()
    price = (
        premium * (40 * usable + 15 * frame["net_area"] + 300 * frame["n_bathroom"])
        + np.where(kind == "casa", 900, 0)
        + 2000 * (frame["latitude"] + 33.5)
        + rng.normal(0, 300, rows)
    )
    return frame, pd.Series(np.maximum(price, 500.0), name="price")


def pipeline(
    remainder: str, loss: str, trees: int = 60, depth: int = 5, **encoder: Any
) -> Pipeline:
    return Pipeline(
        [
            (
                "encode",
                ColumnTransformer(
                    [("categorical", TargetEncoder(**encoder), ["type", "sector"])],
                    remainder=remainder,
                ),
            ),
            (
                "regressor",
                GradientBoostingRegressor(
                    n_estimators=trees,
                    max_depth=depth,
                    learning_rate=0.1,
                    loss=loss,
                    random_state=0,
                ),
            ),
        ]
    )


MODELS: dict[str, Callable[[], Any]] = {
    "notebook_drop_absolute_error": lambda: pipeline("drop", "absolute_error"),
    "passthrough_squared_error": lambda: pipeline("passthrough", "squared_error"),
    "passthrough_huber": lambda: pipeline("passthrough", "huber"),
    "passthrough_quantile": lambda: pipeline("passthrough", "quantile"),
    "log_target": lambda: TransformedTargetRegressor(
        regressor=pipeline("passthrough", "squared_error"), func=np.log, inverse_func=np.exp
    ),
    "log1p_target": lambda: TransformedTargetRegressor(
        regressor=pipeline("passthrough", "absolute_error"), func=np.log1p, inverse_func=np.expm1
    ),
    "depth_9_padded": lambda: pipeline("passthrough", "squared_error", trees=15, depth=9),
    "deeper_than_padding_sparse": lambda: pipeline(
        "passthrough", "squared_error", trees=8, depth=PERFECT_MAX_DEPTH + 2
    ),
    "tuned_encoder": lambda: pipeline(
        "passthrough", "squared_error", min_samples_leaf=5, smoothing=2.0
    ),
}


@pytest.fixture(scope="module")
def train() -> tuple[pd.DataFrame, pd.Series]:
    return make_frame(3000, seed=1)


@pytest.fixture(scope="module")
def held_out() -> pd.DataFrame:
    frame, _ = make_frame(1500, seed=2)
    # categories never seen in training, and a missing one
    frame.loc[0:9, "sector"] = "pirque"
    frame.loc[10:14, "type"] = "oficina"
    frame.loc[15, ["type", "sector"]] = ["parcela", "colina"]
    frame.loc[16, "sector"] = np.nan
    return frame


@pytest.fixture(scope="module")
def fitted(train: tuple[pd.DataFrame, pd.Series]) -> dict[str, Any]:
    frame, price = train
    return {name: build().fit(frame, price) for name, build in MODELS.items()}


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as the prediction endpoint hands them over: column name -> value."""
    return [{str(name): value for name, value in row.items()} for row in frame.to_dict("records")]


def record(row: pd.Series) -> dict[str, Any]:
    return {str(name): value for name, value in row.to_dict().items()}


def relative_error(expected: np.ndarray, actual: np.ndarray) -> float:
    return float(np.max(np.abs(actual - expected) / np.abs(expected)))


@pytest.mark.parametrize("name", list(MODELS))
def test_predictions_match_the_pipeline_within_1e6_relative(
    name: str, fitted: dict[str, Any], held_out: pd.DataFrame
) -> None:
    estimator = fitted[name]
    expected = estimator.predict(held_out)
    actual = compile_predictor(estimator).predict_frame(held_out)
    assert actual.shape == expected.shape
    assert relative_error(expected, actual) <= 1e-6


def test_forests_deeper_than_the_padding_limit_use_the_stacked_nodes(
    fitted: dict[str, Any], held_out: pd.DataFrame
) -> None:
    estimator = fitted["deeper_than_padding_sparse"]
    predictor = compile_predictor(estimator)
    assert predictor.forest.depth > PERFECT_MAX_DEPTH and predictor.forest.roots is not None
    rows = held_out.iloc[20:30]
    expected = estimator.predict(rows)
    one_by_one = [predictor.predict_records([r])[0] for r in records(rows)]
    assert relative_error(expected, np.array(one_by_one)) <= 1e-6


@pytest.mark.parametrize("name", ["notebook_drop_absolute_error", "log_target"])
def test_records_columns_and_frame_give_the_same_predictions(
    name: str, fitted: dict[str, Any], held_out: pd.DataFrame
) -> None:
    rows = held_out.iloc[:300].drop(index=16)  # records are validated: no missing values
    predictor = compile_predictor(fitted[name])
    from_frame = predictor.predict_frame(rows)
    from_records = predictor.predict_records(records(rows))
    from_columns = predictor.predict_columns(
        rows["type"].to_numpy(), rows["sector"].to_numpy(), rows[list(NUMERIC)].to_numpy()
    )
    np.testing.assert_array_equal(from_records, from_frame)
    np.testing.assert_array_equal(from_columns, from_frame)


@pytest.mark.parametrize("name", ["notebook_drop_absolute_error", "log_target"])
def test_a_single_record_matches_a_one_row_pipeline_call(
    name: str, fitted: dict[str, Any], held_out: pd.DataFrame
) -> None:
    estimator = fitted[name]
    predictor = compile_predictor(estimator)
    for i in (0, 10, 100):
        row = held_out.iloc[[i]]
        expected = estimator.predict(row)
        actual = predictor.predict_records(records(row))
        assert relative_error(expected, actual) <= 1e-6


def test_batches_larger_than_a_block_match_the_pipeline(
    fitted: dict[str, Any], held_out: pd.DataFrame
) -> None:
    estimator = fitted["passthrough_squared_error"]
    rows = pd.concat([held_out] * (2 * BLOCK_ROWS // len(held_out) + 1), ignore_index=True)
    assert len(rows) > 2 * BLOCK_ROWS
    actual = compile_predictor(estimator).predict_frame(rows)
    assert relative_error(estimator.predict(rows), actual) <= 1e-6


def test_compiled_predictor_survives_pickling(
    fitted: dict[str, Any], held_out: pd.DataFrame
) -> None:
    predictor = compile_predictor(fitted["log_target"])
    restored = pickle.loads(pickle.dumps(predictor))
    np.testing.assert_array_equal(
        restored.predict_frame(held_out), predictor.predict_frame(held_out)
    )


def test_notebook_model_needs_no_numeric_columns(
    fitted: dict[str, Any], held_out: pd.DataFrame
) -> None:
    estimator = fitted["notebook_drop_absolute_error"]
    predictor = compile_predictor(estimator)
    actual = predictor.predict_columns(held_out["type"].to_numpy(), held_out["sector"].to_numpy())
    assert relative_error(estimator.predict(held_out), actual) <= 1e-6


def test_numeric_model_without_numeric_columns_is_refused(fitted: dict[str, Any]) -> None:
    predictor = compile_predictor(fitted["passthrough_squared_error"])
    with pytest.raises(ValueError, match="uses numeric columns"):
        predictor.predict_columns(
            np.array(["casa"], dtype=object), np.array(["vitacura"], dtype=object)
        )


def test_unknown_category_with_handle_unknown_error_names_row_and_column(
    train: tuple[pd.DataFrame, pd.Series], held_out: pd.DataFrame
) -> None:
    frame, price = train
    estimator = pipeline("drop", "squared_error", trees=10, handle_unknown="error").fit(
        frame, price
    )
    with pytest.raises(ValueError):
        estimator.predict(held_out)
    predictor = compile_predictor(estimator)
    with pytest.raises(
        UnpredictableInput, match=r"row 0, column 'sector'.*'pirque'.*handle_unknown"
    ):
        predictor.predict_frame(held_out)
    with pytest.raises(UnpredictableInput, match=r"row 0, column 'type'.*'oficina'"):
        predictor.predict_records([record(held_out.iloc[10])])
    known = held_out.iloc[20:40]
    assert relative_error(estimator.predict(known), predictor.predict_frame(known)) <= 1e-6


def test_unknown_category_encoded_as_nan_is_refused_like_the_pipeline(
    train: tuple[pd.DataFrame, pd.Series], held_out: pd.DataFrame
) -> None:
    frame, price = train
    estimator = pipeline("passthrough", "squared_error", trees=10, handle_unknown="return_nan")
    estimator.fit(frame, price)
    offices = records(held_out.iloc[10:12])  # type 'oficina'
    with pytest.raises(ValueError):
        estimator.predict(held_out.iloc[10:12])
    with pytest.raises(UnpredictableInput, match=r"row 0, column 'type'.*'oficina'"):
        compile_predictor(estimator).predict_records(offices)


def test_non_finite_numeric_value_is_refused_with_its_row_and_column(
    fitted: dict[str, Any], held_out: pd.DataFrame
) -> None:
    rows = held_out.iloc[20:25].copy()
    rows.loc[rows.index[3], "net_area"] = np.inf
    estimator = fitted["passthrough_squared_error"]
    with pytest.raises(ValueError):
        estimator.predict(rows)
    predictor = compile_predictor(estimator)
    with pytest.raises(UnpredictableInput, match=r"row 3, column 'net_area'"):
        predictor.predict_frame(rows)
    with pytest.raises(UnpredictableInput, match=r"row 0, column 'net_area'"):
        predictor.predict_records([record(rows.iloc[3])])


@pytest.fixture(scope="module")
def unsupported(train: tuple[pd.DataFrame, pd.Series]) -> dict[str, tuple[Any, str]]:
    frame, price = train
    small = {"n_estimators": 5, "max_depth": 2}
    scaled = Pipeline(
        [
            ("encode", ColumnTransformer([("categorical", TargetEncoder(), ["type", "sector"])])),
            ("scale", StandardScaler()),
            ("regressor", GradientBoostingRegressor(**small)),
        ]
    )
    forest = Pipeline(
        [
            ("encode", ColumnTransformer([("categorical", TargetEncoder(), ["type", "sector"])])),
            ("regressor", RandomForestRegressor(n_estimators=3)),
        ]
    )
    one_hot = Pipeline(
        [
            ("encode", ColumnTransformer([("categorical", OneHotEncoder(), ["type", "sector"])])),
            ("regressor", GradientBoostingRegressor(**small)),
        ]
    )
    sqrt_target = TransformedTargetRegressor(
        regressor=pipeline("drop", "squared_error", trees=5), func=np.sqrt, inverse_func=np.square
    )
    scaled_target = TransformedTargetRegressor(
        regressor=pipeline("drop", "squared_error", trees=5), transformer=StandardScaler()
    )
    leak = frame.assign(price=price)
    leaking = pipeline("passthrough", "squared_error", trees=5)
    return {
        "bare regressor": (
            GradientBoostingRegressor(**small).fit(frame[list(NUMERIC)], price),
            "Pipeline",
        ),
        "extra step": (scaled.fit(frame, price), "two steps"),
        "random forest": (forest.fit(frame, price), "GradientBoostingRegressor"),
        "one-hot encoder": (one_hot.fit(frame, price), "OneHotEncoder"),
        "sqrt target": (sqrt_target.fit(frame, price), "inverse_func"),
        "scaled target": (scaled_target.fit(frame, price), "StandardScaler"),
        "price passed through": (leaking.fit(leak, price), "'price'"),
        "unfitted": (pipeline("drop", "squared_error"), "not fitted"),
    }


UNSUPPORTED = [
    "bare regressor",
    "extra step",
    "random forest",
    "one-hot encoder",
    "sqrt target",
    "scaled target",
    "price passed through",
    "unfitted",
]


@pytest.mark.parametrize("label", UNSUPPORTED)
def test_unsupported_structures_are_refused_naming_the_part(
    label: str, unsupported: dict[str, tuple[Any, str]]
) -> None:
    estimator, fragment = unsupported[label]
    with pytest.raises(UnsupportedModel, match=fragment):
        compile_predictor(estimator)


def test_benchmark_helpers_report_timings(fitted: dict[str, Any]) -> None:
    estimator = fitted["notebook_drop_absolute_error"]
    predictor = compile_predictor(estimator)
    single = time_single_row(estimator, predictor, repeats=5)
    assert set(single) == {"pipeline_us", "predictor_us", "speedup", "repeats"}
    assert single["pipeline_us"] > 0 and single["predictor_us"] > 0
    batch = time_batch(predictor, rows=10_000)
    assert batch["rows"] == 10_000 and batch["rows_per_second"] > 0


def test_compile_kernels_covers_the_types_real_predictions_use(
    fitted: dict[str, Any], held_out: pd.DataFrame
) -> None:
    compile_kernels()
    dispatchers = [kernels.predict_perfect, kernels.predict_perfect_one, kernels.predict_sparse]
    before = [len(cast(Any, d).signatures) for d in dispatchers]
    assert all(before)
    rows = held_out.iloc[20:30]
    for name in ("passthrough_squared_error", "deeper_than_padding_sparse"):
        predictor = compile_predictor(fitted[name])
        predictor.predict_frame(rows)
        predictor.predict_records(records(rows.iloc[:1]))
    # No new specialisation: a process that called compile_kernels before forking
    # hands its children machine code for every call they make.
    assert [len(cast(Any, d).signatures) for d in dispatchers] == before
