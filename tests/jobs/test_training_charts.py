"""A training attempt stages its model's charts beside the artifact, to be published with it."""

from __future__ import annotations

import uuid

import pytest

from api.db.tables.job import JobKind
from api.jobs.execution import training_job
from api.jobs.execution.context import JobContext
from api.ml import charts
from api.ml.charts import CHART_NAMES
from api.ml.synth import generate
from api.ml.training import TrainResult, train
from api.ml.validation import validate_frame
from api.ownership import artifact_uri
from api.registry.artifacts import chart_uri
from api.storage import get_store


def _context() -> JobContext:
    return JobContext(
        job_id=uuid.uuid4(),
        attempt=1,
        kind=JobKind.TRAINING,
        owner_id=1,
        request={},
        inputs={},
        model_version=None,
    )


def _result() -> TrainResult:
    frame = validate_frame(generate(200, seed=5), require_target=True).frame
    return train(frame, preset="default", params={"n_estimators": 5, "max_depth": 2})


def test_the_attempt_stages_every_chart_and_publishing_puts_them_beside_the_artifact() -> None:
    ctx = _context()
    uri = artifact_uri(str(ctx.job_id))
    training_job._stage_charts(ctx, uri, _result())
    finals = {chart_uri(uri, name) for name in CHART_NAMES}
    assert set(ctx.outputs.staged) == finals
    assert not any(get_store().exists(final) for final in finals)  # nothing public yet
    ctx.outputs.publish()
    for final in finals:
        assert get_store().get_bytes(final).lstrip().startswith(b"<?xml")


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
    ctx = _context()
    training_job._stage_charts(ctx, artifact_uri(str(ctx.job_id)), _result())
    assert ctx.outputs.staged == {}
    assert [event for event, _ in warnings] == ["charts_not_drawn"]
    assert "no room to draw" in str(warnings[0][1]["error"])
