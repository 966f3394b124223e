"""Inputs the cases share: cached synthetic CSVs and registered models.

Synthetic CSVs are generated once per (rows, seed) under ``.tmp/bench/`` (a 5M-row
file takes about a minute to write). Models are trained in this process on
synthetic rows, cached as signed artifacts keyed by preset and library versions,
uploaded to the bench bucket and registered, each under an alias of its preset
name; the default preset's model is also ``production``.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.perf.stack import BUCKET, WORK, Stack

TRAINING_ROWS = 16_000  # about the size of the client's train.csv
QUICK_DEFAULT_PARAMS = {"n_estimators": 100}


def synthetic_csv(rows: int, seed: int = 0, *, with_price: bool = False) -> Path:
    """A cached CSV of ``rows`` synthetic listings (without the price by default)."""
    from api.ml.synth import generate_chunks

    path = WORK / f"synth-{rows}-seed{seed}{'-price' if with_price else ''}.csv"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with partial.open("w", encoding="utf-8", newline="") as out:
        for i, chunk in enumerate(generate_chunks(rows, seed, 250_000)):
            frame = chunk if with_price else chunk.drop(columns=["price"])
            frame.to_csv(out, header=i == 0, index=False)
    partial.rename(path)
    return path


def upload(path: Path, key: str) -> str:
    """Put a local file into the bench bucket (multipart, streamed)."""
    from api.storage import get_store

    uri = f"s3://{BUCKET}/{key}"
    store = get_store()
    with path.open("rb") as src, store.open_write(uri) as dst:
        while block := src.read(8 << 20):
            dst.write(block)
    return uri


@dataclass
class Model:
    preset: str
    version: int
    estimator: Any
    fit_seconds: float
    cached: bool


def _artifact_key(preset: str, params: dict[str, Any]) -> str:
    from api.ml.artifact import library_versions

    # "ranges": artifacts cached before intervals and comparables lack them.
    spec = json.dumps([preset, params, TRAINING_ROWS, library_versions(), "ranges"], sort_keys=True)
    return hashlib.sha256(spec.encode()).hexdigest()[:16]


def register_model(stack: Stack, preset: str, *, quick: bool) -> Model:
    """Train (or reuse) a ``preset`` model on synthetic rows and register it."""
    from api.config import get_settings
    from api.db.session import session_scope
    from api.ml import artifact as artifacts
    from api.ml.synth import generate
    from api.ml.training import train
    from api.ml.validation import validate_frame
    from api.registry import service as registry_service
    from api.storage import get_store

    params = QUICK_DEFAULT_PARAMS if quick and preset == "default" else {}
    key = get_settings().secret_key.get_secret_value().encode()
    cache = WORK / f"model-{preset}-{_artifact_key(preset, params)}.tsm"
    started = time.perf_counter()
    cached = cache.exists()
    if cached:
        artifact = artifacts.from_bytes(cache.read_bytes(), signing_key=key)
    else:
        frame = validate_frame(generate(TRAINING_ROWS, seed=42), require_target=True).frame
        result = train(frame, preset=preset, params=params, refit=False)
        artifact = artifacts.ModelArtifact.from_training(
            result, {"uri": "synthetic", "sha256": "", "rows": TRAINING_ROWS}
        )
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(artifacts.to_bytes(artifact, signing_key=key))
    fit_seconds = time.perf_counter() - started
    uri = f"s3://{BUCKET}/models/bench-{preset}/model.tsm"
    get_store().put_bytes(uri, artifacts.to_bytes(artifact, signing_key=key))
    with session_scope() as session:
        version = registry_service.register(
            session,
            preset=artifact.preset,
            params=artifact.params,
            metrics=artifact.metrics,
            evaluation=artifact.evaluation,
            training_data=artifact.training_data,
            artifact_uri=uri,
            created_by=stack.user_id,
        ).version
        registry_service.move_alias(session, preset, version, actor_id=stack.user_id)
        if preset == "default":
            registry_service.move_alias(session, "production", version, actor_id=stack.user_id)
    return Model(preset, version, artifact.estimator, fit_seconds, cached)
