"""The one on-disk format of a trained model, and its safe loading.

An artifact is a zip archive with these members:

- ``metadata.json``: format version, preset, params, feature schema, metrics,
  evaluation, library versions, training-data fingerprint, creation time (and,
  under ``extra``, the interval calibration);
- ``model.pkl``: the pickled fitted estimator;
- ``comparables.npz``: the comparables index (plain arrays), absent from
  artifacts written before it existed;
- ``signature``: hex HMAC-SHA256 over the other members (present when signed).

Unpickling runs arbitrary code, so ``load`` reads only the zip directory and the
JSON first and refuses the artifact, before touching the pickle, when the HMAC
does not verify (or is absent while a key is expected), the format version is
unknown, a library version differs from the running one (see
``api.ml.versions``), or the feature schema differs from the code's.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import pickle
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, Final

from api.ml.schema import feature_schema
from api.ml.training import TrainResult
from api.ml.versions import library_versions as library_versions
from api.ml.versions import version_differences

FORMAT_VERSION: Final[int] = 1
_META, _MODEL, _SIGNATURE = "metadata.json", "model.pkl", "signature"
_COMPARABLES = "comparables.npz"
_MAX_METADATA_BYTES: Final[int] = 1 << 20
_REQUIRED_KEYS: Final[tuple[str, ...]] = (
    "preset",
    "params",
    "metrics",
    "evaluation",
    "training_data",
    "feature_schema",
    "versions",
    "created_at",
)


class ArtifactError(ValueError):
    """The bytes are not a usable model artifact; the message says exactly why."""


class SignatureError(ArtifactError):
    """The artifact is unsigned, or its signature does not verify with the given key."""


@dataclass(slots=True)
class ModelArtifact:
    estimator: Any
    preset: str
    params: dict[str, Any]
    metrics: dict[str, Any]
    evaluation: dict[str, Any]
    training_data: dict[str, Any]  # {"sha256": ..., "rows": ...}
    feature_schema: dict[str, Any] = field(default_factory=feature_schema)
    versions: dict[str, str] = field(default_factory=library_versions)
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. cleaning counts
    comparables: bytes | None = None  # ComparablesIndex.to_bytes()

    @classmethod
    def from_training(cls, result: TrainResult, training_data: dict[str, Any]) -> ModelArtifact:
        """The artifact of a ``train()`` result; ``training_data`` fingerprints its input."""
        return cls(
            estimator=result.estimator,
            preset=result.preset,
            params=result.params,
            metrics=result.metrics,
            evaluation=result.evaluation,
            training_data=training_data,
            extra={"rows": result.rows}
            if result.intervals is None
            else {"rows": result.rows, "intervals": result.intervals},
            comparables=None if result.comparables is None else result.comparables.to_bytes(),
        )

    def metadata(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "preset": self.preset,
            "params": self.params,
            "metrics": self.metrics,
            "evaluation": self.evaluation,
            "training_data": self.training_data,
            "feature_schema": self.feature_schema,
            "versions": self.versions,
            "created_at": self.created_at,
            "extra": self.extra,
        }


def _signature(key: bytes, meta: bytes, model: bytes, comparables: bytes | None = None) -> str:
    # Length-prefix each part so bytes cannot be moved from one member to another.
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for part in (meta, model) if comparables is None else (meta, model, comparables):
        mac.update(len(part).to_bytes(8, "big"))
        mac.update(part)
    return mac.hexdigest()


def dump(artifact: ModelArtifact, fileobj: IO[bytes], signing_key: bytes | None) -> None:
    meta = json.dumps(artifact.metadata(), sort_keys=True, allow_nan=False).encode()
    model = pickle.dumps(artifact.estimator, protocol=pickle.HIGHEST_PROTOCOL)
    write_members(fileobj, meta, model, signing_key, artifact.comparables)


def write_members(
    fileobj: IO[bytes],
    meta: bytes,
    model: bytes,
    signing_key: bytes | None,
    comparables: bytes | None = None,
) -> None:
    """Assemble an archive from raw members (also used to re-sign edited metadata)."""
    with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_META, meta)
        archive.writestr(_MODEL, model)
        if comparables is not None:
            archive.writestr(_COMPARABLES, comparables)
        if signing_key is not None:
            archive.writestr(_SIGNATURE, _signature(signing_key, meta, model, comparables))


def to_bytes(artifact: ModelArtifact, signing_key: bytes | None) -> bytes:
    buffer = io.BytesIO()
    dump(artifact, buffer, signing_key)
    return buffer.getvalue()


def read_members(fileobj: IO[bytes]) -> tuple[bytes, bytes, str | None]:
    """(metadata bytes, pickle bytes, signature or None), without unpickling anything."""
    meta, model, signature, _ = _read_all(fileobj)
    return meta, model, signature


def _read_all(fileobj: IO[bytes]) -> tuple[bytes, bytes, str | None, bytes | None]:
    try:
        with zipfile.ZipFile(fileobj) as archive:
            names = set(archive.namelist())
            for required in (_META, _MODEL):
                if required not in names:
                    raise ArtifactError(f"not a model artifact: member {required!r} is missing")
            if archive.getinfo(_META).file_size > _MAX_METADATA_BYTES:
                raise ArtifactError("not a model artifact: metadata.json is too large")
            signature = archive.read(_SIGNATURE).decode() if _SIGNATURE in names else None
            comparables = archive.read(_COMPARABLES) if _COMPARABLES in names else None
            return archive.read(_META), archive.read(_MODEL), signature, comparables
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"not a model artifact: {exc}") from exc


def read_metadata(fileobj: IO[bytes], signing_key: bytes | None) -> dict[str, Any]:
    """The checked metadata, without unpickling the estimator (for registries, listings)."""
    meta, model, signature, comparables = _read_all(fileobj)
    return _checked_metadata(meta, model, signature, signing_key, comparables)


def load(fileobj: IO[bytes], signing_key: bytes | None) -> ModelArtifact:
    """Verify an artifact (see the module docstring), then unpickle it.

    With ``signing_key=None`` the signature is not checked: use it only for
    artifacts from a trusted place.
    """
    meta_bytes, model, signature, comparables = _read_all(fileobj)
    meta = _checked_metadata(meta_bytes, model, signature, signing_key, comparables)
    try:
        estimator = pickle.loads(model)  # noqa: S301 - signature and versions checked above
    except Exception as exc:
        raise ArtifactError(f"the model could not be unpickled: {exc}") from exc
    return ModelArtifact(
        estimator=estimator,
        preset=meta["preset"],
        params=meta["params"],
        metrics=meta["metrics"],
        evaluation=meta["evaluation"],
        training_data=meta["training_data"],
        feature_schema=meta["feature_schema"],
        versions=meta["versions"],
        created_at=meta["created_at"],
        extra=meta.get("extra", {}),
        comparables=comparables,
    )


def from_bytes(data: bytes, signing_key: bytes | None) -> ModelArtifact:
    return load(io.BytesIO(data), signing_key)


def _checked_metadata(
    meta_bytes: bytes,
    model: bytes,
    signature: str | None,
    signing_key: bytes | None,
    comparables: bytes | None = None,
) -> dict[str, Any]:
    if signing_key is not None:
        if signature is None:
            raise SignatureError("the artifact is not signed, but a signing key is configured")
        if not hmac.compare_digest(
            signature, _signature(signing_key, meta_bytes, model, comparables)
        ):
            raise SignatureError(
                "the artifact's signature does not match: it was altered or signed with another key"
            )
    try:
        meta = json.loads(meta_bytes)
    except ValueError as exc:
        raise ArtifactError(f"metadata.json is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict):
        raise ArtifactError("metadata.json must hold a JSON object")
    if "format_version" not in meta:
        raise ArtifactError("metadata.json lacks format_version")
    if meta["format_version"] != FORMAT_VERSION:
        raise ArtifactError(
            f"artifact format version {meta['format_version']!r} is not supported "
            f"(this code reads version {FORMAT_VERSION})"
        )
    missing = [key for key in _REQUIRED_KEYS if key not in meta]
    if missing:
        raise ArtifactError(f"metadata.json lacks: {', '.join(missing)}")
    _check_versions(meta["versions"])
    if meta["feature_schema"] != feature_schema():
        raise ArtifactError(
            f"the artifact's feature schema {meta['feature_schema']!r} differs from this "
            f"code's {feature_schema()!r}"
        )
    return meta


def _check_versions(recorded: Any) -> None:
    if not isinstance(recorded, dict):
        raise ArtifactError("metadata.json 'versions' must be an object")
    differences = version_differences(recorded)
    if differences:
        raise ArtifactError(
            "the artifact was built with other library versions: " + "; ".join(differences)
        )
