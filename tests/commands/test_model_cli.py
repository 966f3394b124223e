"""``tasador model train`` and ``tasador model predict``: what a user of the CLI relies on."""

from __future__ import annotations

import hashlib
import io
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from api.config import Settings
from api.ml import artifact as artifacts
from api.ml.metrics import METRIC_NAMES, compute_metrics
from api.ml.schema import COLUMNS, FEATURES, TARGET
from api.ml.validation import validate_frame
from api.storage import get_store
from tests.commands.conftest import QUICK, TRAIN_ROWS, Data, Trained, tasador


def _load(path: Path) -> artifacts.ModelArtifact:
    with path.open("rb") as raw:
        return artifacts.load(raw, signing_key=None)


def _with_cell(source: Path, target: Path, row: int, column: str, value: str) -> Path:
    """``source`` with data row ``row`` (1-based, as the CLI counts) set to ``value``."""
    frame = pd.read_csv(source, dtype=str)
    frame.loc[row - 1, column] = value
    frame.to_csv(target, index=False)
    return target


def test_train_prints_one_json_object_and_says_it_used_a_holdout(
    data: Data, tmp_path: Path
) -> None:
    model = tmp_path / "m.tsm"
    result = tasador(
        "model", "train", "--train-data", data.train, "--preset", "notebook",
        "--param", "n_estimators=30", "--output", model,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1  # one line: pipeable into jq
    report = json.loads(result.stdout)
    assert set(METRIC_NAMES) <= set(report)
    assert all(isinstance(report[name], float) for name in METRIC_NAMES)
    assert report["evaluation"]["on"] == "holdout"
    assert report["evaluation"]["rows"] == round(0.2 * TRAIN_ROWS)
    saved = _load(model)
    assert saved.preset == "notebook"
    assert saved.metrics == {name: report[name] for name in saved.metrics}
    assert set(saved.metrics) - set(METRIC_NAMES) == {
        "interval_80_coverage", "interval_80_width", "interval_90_coverage", "interval_90_width",
    }  # fmt: skip
    assert saved.training_data["rows"] == TRAIN_ROWS
    assert saved.training_data["sha256"] == hashlib.sha256(data.train.read_bytes()).hexdigest()


def test_metrics_on_test_data_match_the_saved_estimator(data: Data, trained: Trained) -> None:
    assert trained.report["evaluation"] == {"on": "test_data", "rows": 500}
    test = validate_frame(pd.read_csv(data.test), require_target=True).frame
    estimator = _load(trained.model).estimator
    expected = compute_metrics(test[TARGET], estimator.predict(test[FEATURES]))
    assert {name: trained.report[name] for name in METRIC_NAMES} == pytest.approx(expected)


def test_param_overrides_reach_the_model(trained: Trained) -> None:
    saved = _load(trained.model)
    assert saved.params["n_estimators"] == 20
    assert saved.params["loss"] == "huber"
    regressor = saved.estimator.named_steps["regressor"]
    assert regressor.n_estimators_ == 20
    assert regressor.loss == "huber"


def test_unknown_param_exits_2_naming_it(data: Data, tmp_path: Path) -> None:
    model = tmp_path / "m.tsm"
    result = tasador(
        "model", "train", "--train-data", data.train, "--param", "n_trees=5", "--output", model
    )
    assert result.exit_code == 2
    assert "n_trees" in result.stderr
    assert result.stdout == ""
    assert not model.exists()


@pytest.mark.parametrize("option", ["--train-data", "--test-data"])
def test_missing_column_exits_2_naming_file_and_column(
    data: Data, tmp_path: Path, option: str
) -> None:
    broken = tmp_path / "no_sector.csv"
    pd.read_csv(data.test).drop(columns=["sector"]).to_csv(broken, index=False)
    files = {"--train-data": data.train, "--test-data": data.test, option: broken}
    result = tasador(
        "model", "train", *[str(x) for pair in files.items() for x in pair],
        *QUICK, "--output", tmp_path / "m.tsm",
    )  # fmt: skip
    assert result.exit_code == 2
    assert str(broken) in result.stderr
    assert "sector" in result.stderr


def test_bad_row_exits_2_naming_row_and_column(data: Data, tmp_path: Path) -> None:
    broken = _with_cell(data.train, tmp_path / "bad.csv", 7, "net_usable_area", "-5")
    result = tasador(
        "model", "train", "--train-data", broken, *QUICK, "--output", tmp_path / "m.tsm"
    )
    assert result.exit_code == 2
    assert str(broken) in result.stderr
    assert "row 7, column net_usable_area" in result.stderr
    assert not (tmp_path / "m.tsm").exists()


def test_missing_training_file_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    result = tasador("model", "train", "--train-data", missing, "--output", tmp_path / "m.tsm")
    assert result.exit_code == 2
    assert str(missing) in result.stderr


def test_output_folder_that_does_not_exist_exits_1_before_training(
    data: Data, tmp_path: Path
) -> None:
    target = tmp_path / "no-such-folder" / "m.tsm"
    started = time.monotonic()
    # The default preset takes tens of seconds here: failing in well under that
    # shows the folder was checked before any fitting.
    result = tasador("model", "train", "--train-data", data.train, "--output", target)
    assert time.monotonic() - started < 5
    assert result.exit_code == 1
    assert str(target.parent) in result.stderr
    assert "does not exist" in result.stderr
    assert result.stdout == ""


def test_predict_writes_input_columns_plus_predictions_and_an_errors_file(
    data: Data, trained: Trained, tmp_path: Path
) -> None:
    source = _with_cell(data.test, tmp_path / "in.csv", 3, "n_rooms", "tres")
    _with_cell(source, source, 10, "type", "oficina")
    output = tmp_path / "out.csv"
    result = tasador(
        "model", "predict", "--model", trained.model, "--input", source, "--output", output
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["failed_rows"] == 2

    raw = pd.read_csv(source)
    valid = validate_frame(raw, require_target=False).frame
    predicted = pd.read_csv(output)
    assert list(predicted.columns) == [*COLUMNS, "price_pred"]
    assert len(predicted) == len(raw) - 2
    # The input's cells come back as they were written (compared as text).
    pd.testing.assert_frame_equal(
        pd.read_csv(output, dtype=str)[COLUMNS],
        pd.read_csv(source, dtype=str).drop(index=[2, 9]).reset_index(drop=True),
    )
    expected = _load(trained.model).estimator.predict(valid[FEATURES])
    np.testing.assert_allclose(predicted["price_pred"], expected, rtol=1e-6)

    errors = pd.read_csv(tmp_path / "out.errors.csv")
    assert list(errors.columns) == ["row", "column", "reason"]
    assert errors[["row", "column"]].values.tolist() == [[3, "n_rooms"], [10, "type"]]
    assert "tres" in errors["reason"][0] and "oficina" in errors["reason"][1]


def test_predict_with_interval_adds_a_range_around_each_price(
    data: Data, trained: Trained, tmp_path: Path
) -> None:
    output = tmp_path / "ranged.csv"
    result = tasador(
        "model", "predict", "--model", trained.model, "--input", data.test,
        "--output", output, "--interval", "0.8",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    predicted = pd.read_csv(output)
    assert list(predicted.columns) == [*COLUMNS, "price_pred", "price_lower", "price_upper"]
    assert (predicted["price_lower"] < predicted["price_pred"]).all()
    assert (predicted["price_pred"] < predicted["price_upper"]).all()
    truth = pd.read_csv(data.test)["price"]
    inside = (truth >= predicted["price_lower"]) & (truth <= predicted["price_upper"])
    assert 0.6 < inside.mean() <= 1.0


def test_predict_with_interval_on_a_model_without_calibration_exits_2(
    data: Data, trained: Trained, tmp_path: Path
) -> None:
    old = _load(trained.model)
    old.extra = {k: v for k, v in old.extra.items() if k != "intervals"}
    model = tmp_path / "old.tsm"
    with model.open("wb") as out:
        artifacts.dump(old, out, signing_key=None)
    output = tmp_path / "out.csv"
    result = tasador(
        "model", "predict", "--model", model, "--input", data.test, "--output", output,
        "--interval", "0.8", "--unsigned",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "no interval calibration" in result.stderr
    assert not output.exists()


def test_corrupted_model_exits_2_and_writes_nothing(
    data: Data, trained: Trained, tmp_path: Path
) -> None:
    corrupt = tmp_path / "corrupt.tsm"
    corrupt.write_bytes(trained.model.read_bytes()[:2000])
    output = tmp_path / "out.csv"
    result = tasador(
        "model", "predict", "--model", corrupt, "--input", data.test, "--output", output
    )
    assert result.exit_code == 2
    assert str(corrupt) in result.stderr
    assert "not a model artifact" in result.stderr
    assert list(tmp_path.iterdir()) == [corrupt]


def test_predict_input_without_feature_column_exits_2_naming_it(
    data: Data, trained: Trained, tmp_path: Path
) -> None:
    broken = tmp_path / "no_lat.csv"
    pd.read_csv(data.test).drop(columns=["latitude"]).to_csv(broken, index=False)
    result = tasador(
        "model", "predict", "--model", trained.model, "--input", broken,
        "--output", tmp_path / "out.csv",
    )  # fmt: skip
    assert result.exit_code == 2
    assert str(broken) in result.stderr and "latitude" in result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_predict_into_missing_folder_exits_1(data: Data, trained: Trained, tmp_path: Path) -> None:
    target = tmp_path / "absent" / "out.csv"
    result = tasador(
        "model", "predict", "--model", trained.model, "--input", data.test, "--output", target
    )
    assert result.exit_code == 1
    assert str(target.parent) in result.stderr


def test_train_and_predict_read_and_write_s3_uris(
    data: Data, trained: Trained, s3_settings: Settings, tmp_path: Path
) -> None:
    store = get_store()
    bucket = f"s3://{s3_settings.bucket}"
    store.put_bytes(f"{bucket}/in/train.csv", data.train.read_bytes())
    source = _with_cell(data.test, tmp_path / "in.csv", 5, "latitude", "33.4")
    store.put_bytes(f"{bucket}/in/test.csv", source.read_bytes())

    trained_on_s3 = tasador(
        "model", "train", "--train-data", f"{bucket}/in/train.csv", "--preset", "notebook",
        *QUICK, "--output", f"{bucket}/models/m.tsm",
    )  # fmt: skip
    assert trained_on_s3.exit_code == 0, trained_on_s3.output
    model = tmp_path / "m.tsm"
    model.write_bytes(store.get_bytes(f"{bucket}/models/m.tsm"))
    assert _load(model).training_data["uri"] == f"{bucket}/in/train.csv"

    predicted = tasador(
        "model", "predict", "--model", f"{bucket}/models/m.tsm",
        "--input", f"{bucket}/in/test.csv", "--output", f"{bucket}/out/pred.csv",
    )  # fmt: skip
    assert predicted.exit_code == 0, predicted.output
    report = json.loads(predicted.stdout)
    assert report["errors"] == f"{bucket}/out/pred.errors.csv"
    output = pd.read_csv(io.BytesIO(store.get_bytes(f"{bucket}/out/pred.csv")))
    valid = validate_frame(pd.read_csv(source), require_target=False).frame
    np.testing.assert_allclose(
        output["price_pred"], _load(model).estimator.predict(valid[FEATURES]), rtol=1e-6
    )
    errors = pd.read_csv(io.BytesIO(store.get_bytes(report["errors"])))
    assert errors[["row", "column"]].values.tolist() == [[5, "latitude"]]


def test_predict_without_invalid_rows_writes_no_errors_file(
    data: Data, trained: Trained, tmp_path: Path
) -> None:
    output = tmp_path / "clean.csv"
    stale = tmp_path / "clean.errors.csv"
    stale.write_text("row,column,reason\n")  # from an earlier run
    result = tasador(
        "model", "predict", "--model", trained.model, "--input", data.test, "--output", output
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["errors"] is None
    assert not stale.exists()


def test_train_shows_its_progress_on_stderr(data: Data, tmp_path: Path) -> None:
    result = tasador(
        "model", "train", "--train-data", data.train, "--preset", "notebook",
        "--param", "n_estimators=30", "--output", tmp_path / "m.tsm",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "training [" in result.stderr and "100%" in result.stderr
    assert result.stdout.count("\n") == 1  # stdout stays one JSON line
