"""A registered model's charts are drawn beside its artifact; a drawing that fails costs
the pictures, never the model (the worker test checks they appear after a real job)."""

from __future__ import annotations

import uuid

import pytest

from api.jobs.execution import training_job
from api.ml import charts
from api.ml.charts import CHART_NAMES
from api.ml.synth import generate
from api.ml.training import TrainResult, train
from api.ml.validation import validate_frame
from api.ownership import artifact_uri
from api.registry.artifacts import chart_uri
from api.storage import get_store


def _result() -> TrainResult:
    frame = validate_frame(generate(200, seed=5), require_target=True).frame
    return train(frame, preset="default", params={"n_estimators": 5, "max_depth": 2})


def test_every_chart_is_drawn_beside_the_artifact() -> None:
    uri = artifact_uri(str(uuid.uuid4()))
    training_job.draw_charts(uri, _result())
    for name in CHART_NAMES:
        assert get_store().get_bytes(chart_uri(uri, name)).lstrip().startswith(b"<?xml")


def test_a_chart_that_cannot_be_drawn_costs_the_pictures_not_the_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_: object) -> dict[str, bytes]:
        raise ValueError("no room to draw")

    warnings: list[tuple[str, dict[str, object]]] = []

    class Log:
        def warning(self, event: str, **fields: object) -> None:
            warnings.append((event, fields))

    monkeypatch.setattr(charts, "render_charts", broken)
    monkeypatch.setattr(training_job, "log", Log())
    uri = artifact_uri(str(uuid.uuid4()))
    training_job.draw_charts(uri, _result())
    assert not any(get_store().exists(chart_uri(uri, name)) for name in CHART_NAMES)
    assert [event for event, _ in warnings] == ["charts_not_drawn"]
    assert "no room to draw" in str(warnings[0][1]["error"])
