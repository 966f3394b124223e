"""Reading and writing model artifacts in the object store, signed with the service key.

The one place that knows where artifacts live and how they are signed, used by
the training job, promotion, batch inference and the serving cache.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from api import ownership
from api.config import get_settings
from api.ml import artifact as artifacts
from api.ml.bundle import ModelBundle, compile_bundle
from api.storage import get_store

# Compiled predictors a worker process keeps: a default-preset model takes tens of
# MB and ~0.2 s to fetch, verify and compile, which dominates a small batch job.
PREDICTOR_CACHE_SIZE: Final[int] = 2


def _key() -> bytes:
    return get_settings().secret_key.get_secret_value().encode()


def artifact_uri(job_id: str) -> str:
    return ownership.artifact_uri(job_id)


def chart_uri(artifact_uri: str, name: str) -> str:
    """Where the chart ``name`` (see ``api.ml.charts``) of a model lives: beside its artifact."""
    return f"{artifact_uri.rsplit('/', 1)[0]}/charts/{name}.svg"


def read_chart(artifact_uri: str, name: str) -> bytes | None:
    """A model's chart, or None if it has none (models trained before charts existed)."""
    uri = chart_uri(artifact_uri, name)
    store = get_store()
    return store.get_bytes(uri) if store.exists(uri) else None


def save(uri: str, artifact: artifacts.ModelArtifact) -> None:
    get_store().put_bytes(uri, artifacts.to_bytes(artifact, signing_key=_key()))


def load(uri: str) -> artifacts.ModelArtifact:
    return artifacts.from_bytes(get_store().get_bytes(uri), signing_key=_key())


def load_bundle(uri: str) -> ModelBundle:
    """The compiled predictor and the interval calibration of a stored artifact."""
    return compile_bundle(load(uri))


@lru_cache(maxsize=PREDICTOR_CACHE_SIZE)
def cached_bundle(uri: str) -> ModelBundle:
    """``load_bundle`` memoised per process, for registered versions only.

    Safe because a registered artifact is never rewritten: its key holds the
    training job's id, it is published by the one attempt that registers the
    version, and publishing never replaces an object.
    Failed loads are not cached (lru_cache keeps only returned values).
    """
    return load_bundle(uri)
