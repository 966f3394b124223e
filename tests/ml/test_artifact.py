from __future__ import annotations

import io
import json
import pickle
import zipfile

import numpy as np
import pandas as pd
import pytest

from api.ml import artifact as art
from api.ml.artifact import ArtifactError, ModelArtifact, from_bytes, to_bytes
from api.ml.schema import FEATURES
from api.ml.training import train
from tests.ml.conftest import FAST_PARAMS

KEY = b"k" * 32


@pytest.fixture(scope="module")
def model(synthetic_train: pd.DataFrame) -> ModelArtifact:
    result = train(synthetic_train, params=FAST_PARAMS)
    return ModelArtifact(
        estimator=result.estimator,
        preset=result.preset,
        params=result.params,
        metrics=result.metrics,
        evaluation=result.evaluation,
        training_data={"sha256": "ab" * 32, "rows": len(synthetic_train)},
        extra={"rows": result.rows},
    )


def rebuild(data: bytes, *, key: bytes | None, edit_meta=None, model_bytes=None, signature=None):  # type: ignore[no-untyped-def]
    """Rewrite an artifact's members, optionally editing them, re-signed with ``key``."""
    meta, model, _ = art.read_members(io.BytesIO(data))
    if edit_meta is not None:
        parsed = json.loads(meta)
        edit_meta(parsed)
        meta = json.dumps(parsed).encode()
    model = model if model_bytes is None else model_bytes
    buffer = io.BytesIO()
    if signature is None:
        art.write_members(buffer, meta, model, key)
    else:
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("metadata.json", meta)
            archive.writestr("model.pkl", model)
            archive.writestr("signature", signature)
    return buffer.getvalue()


def test_round_trip_keeps_predictions_and_metadata(
    model: ModelArtifact, synthetic_test: pd.DataFrame
) -> None:
    loaded = from_bytes(to_bytes(model, KEY), KEY)
    X = synthetic_test[FEATURES]
    assert np.array_equal(loaded.estimator.predict(X), model.estimator.predict(X))
    assert loaded.metadata() == model.metadata()
    assert loaded.versions["scikit-learn"] == art.library_versions()["scikit-learn"]


def test_metadata_can_be_read_without_unpickling(model: ModelArtifact) -> None:
    meta = art.read_metadata(io.BytesIO(to_bytes(model, KEY)), KEY)
    assert meta["preset"] == "default" and meta["training_data"]["rows"] == 2000


def test_tampered_model_bytes_are_refused(model: ModelArtifact) -> None:
    data = to_bytes(model, KEY)
    _, _, signature = art.read_members(io.BytesIO(data))
    evil = pickle.dumps({"not": "the model"})
    tampered = rebuild(data, key=None, model_bytes=evil, signature=signature)
    with pytest.raises(ArtifactError, match="signature does not match"):
        from_bytes(tampered, KEY)


def test_corrupted_archive_bytes_are_refused(model: ModelArtifact) -> None:
    data = bytearray(to_bytes(model, KEY))
    data[len(data) // 2] ^= 0xFF
    with pytest.raises(ArtifactError):
        from_bytes(bytes(data), KEY)
    with pytest.raises(ArtifactError, match="not a model artifact"):
        from_bytes(b"plain text, not a zip", KEY)


def test_wrong_signing_key_is_refused(model: ModelArtifact) -> None:
    with pytest.raises(ArtifactError, match="signed with another key"):
        from_bytes(to_bytes(model, KEY), b"other-key")


def test_unsigned_artifact_is_refused_when_a_key_is_expected(model: ModelArtifact) -> None:
    with pytest.raises(ArtifactError, match="not signed, but a signing key is configured"):
        from_bytes(to_bytes(model, None), KEY)


def test_library_version_mismatch_is_refused_naming_the_library(model: ModelArtifact) -> None:
    def downgrade(meta: dict) -> None:  # type: ignore[type-arg]
        meta["versions"]["scikit-learn"] = "0.24.2"

    edited = rebuild(to_bytes(model, KEY), key=KEY, edit_meta=downgrade)
    with pytest.raises(ArtifactError, match=r"scikit-learn 0\.24\.2 \(artifact\) vs"):
        from_bytes(edited, KEY)


def test_feature_schema_mismatch_is_refused(model: ModelArtifact) -> None:
    def rename(meta: dict) -> None:  # type: ignore[type-arg]
        meta["feature_schema"]["features"][0] = "kind"

    edited = rebuild(to_bytes(model, KEY), key=KEY, edit_meta=rename)
    with pytest.raises(ArtifactError, match=r"feature schema .* differs"):
        from_bytes(edited, KEY)


def test_unknown_format_version_is_refused(model: ModelArtifact) -> None:
    def bump(meta: dict) -> None:  # type: ignore[type-arg]
        meta["format_version"] = 99

    edited = rebuild(to_bytes(model, KEY), key=KEY, edit_meta=bump)
    with pytest.raises(ArtifactError, match="format version 99 is not supported"):
        from_bytes(edited, KEY)


def test_unsigned_artifact_loads_when_no_key_is_configured(model: ModelArtifact) -> None:
    assert from_bytes(to_bytes(model, None), None).preset == "default"
