"""The ``notebook`` preset must reproduce the client's notebook bit for bit.

The reference pipeline is written here literally as the notebook builds it
(shared/NOTEBOOK.md), independent of api.ml's pipeline builder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from category_encoders import TargetEncoder
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.pipeline import Pipeline

from api.ml.schema import FEATURES
from api.ml.synth import generate
from api.ml.training import train
from api.ml.validation import validate_frame
from tests.client_data import client_train_csv, needs_client_train_csv

SEED = 1234


def notebook_predictions(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    train_cols = [col for col in train.columns if col not in ["id", "target"]]
    categorical_cols = ["type", "sector"]
    target = "price"
    categorical_transformer = TargetEncoder()
    preprocessor = ColumnTransformer(
        transformers=[("categorical", categorical_transformer, categorical_cols)]
    )
    steps = [
        ("preprocessor", preprocessor),
        (
            "model",
            GradientBoostingRegressor(
                learning_rate=0.01, n_estimators=300, max_depth=5, loss="absolute_error"
            ),
        ),
    ]
    pipeline = Pipeline(steps)
    np.random.seed(SEED)
    pipeline.fit(train[train_cols], train[target])
    return np.asarray(pipeline.predict(test[train_cols]))


def project_predictions(train_raw: pd.DataFrame, test_raw: pd.DataFrame) -> np.ndarray:
    train_checked = validate_frame(train_raw, require_target=True)
    test_checked = validate_frame(test_raw, require_target=True)
    assert train_checked.problems == [] and test_checked.problems == []
    np.random.seed(SEED)
    result = train(train_checked.frame, preset="notebook", test_df=test_checked.frame)
    return np.asarray(result.estimator.predict(test_checked.frame[FEATURES]))


def test_notebook_preset_predicts_exactly_like_the_notebook_on_synthetic_csvs(
    tmp_path: Path,
) -> None:
    generate(2000, seed=21).to_csv(tmp_path / "train.csv", index=False)
    generate(400, seed=22).to_csv(tmp_path / "test.csv", index=False)
    train_raw = pd.read_csv(tmp_path / "train.csv")
    test_raw = pd.read_csv(tmp_path / "test.csv")
    expected = notebook_predictions(train_raw, test_raw)
    assert np.array_equal(project_predictions(train_raw, test_raw), expected)


@needs_client_train_csv
def test_notebook_preset_predicts_exactly_like_the_notebook_on_the_client_data() -> None:
    data = pd.read_csv(client_train_csv())
    in_test = np.random.default_rng(2024).random(len(data)) < 0.2
    train_raw, test_raw = data[~in_test].reset_index(drop=True), data[in_test]
    test_raw = test_raw.reset_index(drop=True)
    expected = notebook_predictions(train_raw, test_raw)
    assert np.array_equal(project_predictions(train_raw, test_raw), expected)
