"""The charts a training run leaves: drawn from the evaluation rows, valid SVG, repeatable."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from api.ml.charts import CHART_NAMES, interval_coverage, render_charts
from api.ml.synth import generate
from api.ml.training import feature_importances, train
from api.ml.validation import validate_frame

FAST = {"n_estimators": 10, "max_depth": 3}


def test_training_keeps_the_rows_its_metrics_come_from_with_their_predictions() -> None:
    frame = validate_frame(generate(300, seed=3), require_target=True).frame
    result = train(frame, preset="default", params=FAST)
    rows = result.evaluation_rows
    assert rows is not None
    assert len(rows) == result.evaluation["rows"] == 60  # the 20 % held out
    assert list(rows.columns) == [
        "sector", "type", "actual", "predicted", "inside_80", "inside_90",
    ]  # fmt: skip
    assert (rows["predicted"] > 0).all()
    # Whether each price fell inside its cross-fitted range: what the metrics average.
    assert set(rows["inside_80"].unique()) <= {0.0, 1.0}
    assert rows["inside_80"].mean() == result.metrics["interval_80_coverage"]


def test_feature_importances_name_every_input_and_sum_to_one() -> None:
    frame = validate_frame(generate(300, seed=3), require_target=True).frame
    importances = feature_importances(train(frame, preset="default", params=FAST).estimator)
    assert set(importances) == {
        "type", "sector", "net_usable_area", "net_area", "n_rooms", "n_bathroom",
        "latitude", "longitude",
    }  # fmt: skip
    assert abs(sum(importances.values()) - 1.0) < 1e-9


def test_every_chart_is_an_svg_document_and_the_same_rows_draw_the_same_bytes() -> None:
    frame = validate_frame(generate(300, seed=3), require_target=True).frame
    result = train(frame, preset="default", params=FAST)
    assert result.evaluation_rows is not None
    importances = feature_importances(result.estimator)
    charts = render_charts(result.evaluation_rows, importances)
    assert tuple(charts) == CHART_NAMES
    for svg in charts.values():
        assert ET.fromstring(svg).tag.endswith("svg")
    assert render_charts(result.evaluation_rows, importances) == charts


def test_the_coverage_chart_draws_bands_for_a_model_with_ranges_and_says_so_without() -> None:
    frame = validate_frame(generate(600, seed=5), require_target=True).frame
    rows = train(frame, preset="default", params=FAST).evaluation_rows
    assert rows is not None
    drawn = interval_coverage(rows).decode()
    assert "80 % range" in drawn and "90 % range" in drawn
    without = interval_coverage(rows.drop(columns=["inside_80", "inside_90"])).decode()
    assert "without price ranges" in without and "80 % range" not in without
