"""Stored artifacts: signed round trip and the per-process predictor cache."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from api.config import Settings
from api.ml import artifact as artifacts
from api.ml.schema import FEATURES
from api.ml.synth import generate
from api.ml.training import train
from api.ml.validation import validate_frame
from api.registry import artifacts as stored
from api.storage import ObjectNotFound, get_store


@pytest.fixture
def fresh_cache(s3_settings: Settings) -> Iterator[Settings]:
    stored.cached_bundle.cache_clear()
    yield s3_settings
    stored.cached_bundle.cache_clear()


def _artifact() -> artifacts.ModelArtifact:
    frame = validate_frame(generate(300, seed=3), require_target=True).frame
    result = train(frame, preset="default", params={"n_estimators": 5}, refit=False)
    return artifacts.ModelArtifact.from_training(result, {"uri": "x", "sha256": "", "rows": 300})


def test_saved_artifact_loads_back_and_predicts_like_the_estimator(fresh_cache: Settings) -> None:
    artifact = _artifact()
    uri = stored.artifact_uri("job-roundtrip")
    stored.save(uri, artifact)
    frame = validate_frame(generate(50, seed=4), require_target=True).frame
    np.testing.assert_allclose(
        stored.load_bundle(uri).predictor.predict_frame(frame),
        artifact.estimator.predict(frame[FEATURES]),
        rtol=1e-6,
    )


def test_a_worker_loads_a_registered_model_once(fresh_cache: Settings) -> None:
    uri = stored.artifact_uri("job-cached")
    stored.save(uri, _artifact())
    first = stored.cached_bundle(uri).predictor
    # A second batch job of the same version needs no download: the object
    # could even be gone (it never is for a registered version).
    get_store().delete(uri)
    assert stored.cached_bundle(uri).predictor is first


def test_a_failed_load_is_not_remembered(fresh_cache: Settings) -> None:
    uri = stored.artifact_uri("job-late")
    with pytest.raises(ObjectNotFound):
        stored.cached_bundle(uri)
    stored.save(uri, _artifact())
    assert stored.cached_bundle(uri).predictor.predict_frame(
        validate_frame(generate(5, seed=5), require_target=True).frame
    ).shape == (5,)
