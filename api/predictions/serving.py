"""The per-process serving state: model cache, alias snapshot, prediction log.

One ``Serving`` exists per API process. ``start_serving()``/``stop_serving()``
(or the ``serving_lifespan`` context manager) are called from the application's
lifespan: start launches the alias watcher and the log flusher, stop ends them
and flushes the prediction log so a clean shutdown loses nothing. Without a
lifespan (a bare test app) the first request starts them.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from api.config import Settings, get_settings
from api.db.session import session_scope
from api.errors import NotFound, ServiceUnavailable, TasadorError
from api.logging import get_logger
from api.ml import artifact as artifacts
from api.ml.comparables import ComparablesIndex
from api.ml.intervals import IntervalModel
from api.ml.predictor import FastPredictor, UnsupportedModel, compile_kernels
from api.observability import MODEL_SERVED
from api.predictions import collector, repository
from api.predictions.aliases import AliasReader, AliasSnapshot
from api.predictions.log_buffer import PredictionLogBuffer, RowWriter
from api.predictions.model_cache import ModelCache
from api.registry import artifacts as registry_artifacts
from api.registry import service as registry_service
from api.storage import StorageError

log = get_logger("api.predictions.serving")

MAX_VERSION = 2**31 - 1  # model_versions.version is a 32-bit integer


@dataclass(frozen=True, slots=True)
class ServedModel:
    version: int
    predictor: FastPredictor
    intervals: IntervalModel | None = None
    comparables: ComparablesIndex | None = None
    # Where the version's training rows came from: comparables are those rows, so
    # only a caller who may read them gets comparables.
    training_data: dict[str, Any] = field(default_factory=dict)


def load_model(session: Session, version: int) -> ServedModel:
    """Fetch, verify and compile one registered version (the slow path)."""
    row = registry_service.get(session, version)  # 404 model_not_found
    try:
        bundle = registry_artifacts.load_bundle(row.artifact_uri)
    except (StorageError, artifacts.ArtifactError, UnsupportedModel) as exc:
        log.error("model_load_failed", version=version, error=f"{type(exc).__name__}: {exc}")
        message = exc.message if isinstance(exc, TasadorError) else str(exc)
        raise ServiceUnavailable(
            f"model version {version} cannot be served: {message}",
            code="model_unavailable",
            details={"version": version, "artifact_uri": row.artifact_uri},
        ) from exc
    log.info("model_loaded", version=version, preset=row.preset)
    return ServedModel(
        version, bundle.predictor, bundle.intervals, bundle.comparables, dict(row.training_data)
    )


def _load_in_own_session(version: int) -> ServedModel:
    with session_scope() as session:
        return load_model(session, version)


def _read_aliases() -> dict[str, int]:
    with session_scope() as session:
        return registry_service.all_aliases(session)


class Serving:
    """Resolves ``model`` to a version and the version to a compiled predictor."""

    def __init__(
        self,
        settings: Settings,
        *,
        read_aliases: AliasReader = _read_aliases,
        load: Callable[[int], ServedModel] = _load_in_own_session,
        write_rows: RowWriter = repository.insert_rows,
    ) -> None:
        self.cache: ModelCache[ServedModel] = ModelCache(settings.model_cache_size, load)
        self.aliases = AliasSnapshot(
            read_aliases, settings.alias_refresh_seconds, on_change=self._aliases_changed
        )
        self.log = PredictionLogBuffer(
            write_rows,
            max_rows=settings.prediction_log_max_buffer,
            batch_rows=settings.prediction_log_batch,
            flush_seconds=settings.prediction_log_flush_seconds,
        )
        self._started = False
        self._start_lock = threading.Lock()

    def start(self) -> None:
        if self._started:  # the per-request call costs no lock once running
            return
        with self._start_lock:
            if self._started:
                return
            self._started = True
            self.aliases.start()
            self.log.start()

    def stop(self) -> None:
        with self._start_lock:
            self.aliases.stop()
            self.log.close()
            self._started = False

    def resolve(self, session: Session, model: str | int) -> int:
        """The version ``model`` names; no query when the snapshot knows the alias.

        A miss in the snapshot (an alias created a moment ago, or the snapshot
        not read yet) asks the database, so it never wrongly answers 404.
        """
        known = self._known_version(model)
        if known is not None:
            return known
        return registry_service.resolve(session, model or registry_service.PRODUCTION)  # 409, 404

    def _known_version(self, model: str | int) -> int | None:
        """The version ``model`` names when no query is needed to tell, else None."""
        if isinstance(model, int) or model.isdigit():
            version = int(model)
            # Out of the column's range, the database would fail rather than not find it.
            if not 1 <= version <= MAX_VERSION:
                raise NotFound(f"no model version {version}", code="model_not_found")
            return version
        return self.aliases.lookup(model or registry_service.PRODUCTION)

    def in_memory(self, model: str | int) -> ServedModel | None:
        """The predictor for ``model`` when answering needs no I/O: the alias is in
        the snapshot (or ``model`` is a number) and the version is loaded; else None."""
        version = self._known_version(model)
        return None if version is None else self.cache.get_if_cached(version)

    def model(self, session: Session, version: int) -> ServedModel:
        """The compiled predictor; a miss loads it with the caller's session."""
        return self.cache.get_or_load(version, lambda: load_model(session, version))

    def _aliases_changed(self, before: Mapping[str, int], after: Mapping[str, int]) -> None:
        _export_aliases(before, after)
        self._warm_for(before, after)

    def _warm_for(self, before: Mapping[str, int], after: Mapping[str, int]) -> None:
        """Warm the versions that live traffic is about to need, off the request path.

        Only aliases whose previous version was cached (so traffic used it), plus
        ``production`` on the first read, are warmed: a fresh ``staging`` alias
        must not evict a model that is being served.
        """
        wanted = [
            version
            for name, version in after.items()
            if before.get(name) != version
            and self.cache.peek(version) is None
            and (
                (name in before and self.cache.peek(before[name]) is not None)
                or (not before and name == registry_service.PRODUCTION)
            )
        ]
        if wanted:
            threading.Thread(
                target=self._warm, args=(wanted,), name="model-warmup", daemon=True
            ).start()

    def _warm(self, versions: list[int]) -> None:
        for version in versions:
            try:
                self.cache.get(version)
            except Exception as exc:  # logged; the next request reports it to its caller
                log.warning("model_warmup_failed", version=version, error=str(exc))


def _export_aliases(before: Mapping[str, int], after: Mapping[str, int]) -> None:
    for name in before.keys() - after.keys():
        with contextlib.suppress(KeyError):
            MODEL_SERVED.remove(name)
    for name, version in after.items():
        MODEL_SERVED.labels(name).set(version)


_lock = threading.Lock()
_serving: Serving | None = None
collector.register(lambda: _serving)


def get_serving() -> Serving:
    """The process's serving state, started on first use."""
    global _serving
    if _serving is None:
        with _lock:
            if _serving is None:
                _serving = Serving(get_settings())
    _serving.start()
    return _serving


def start_serving() -> Serving:
    """Start the alias watcher and the log flusher (call at application startup)."""
    return get_serving()


def stop_serving() -> None:
    """Stop both threads and flush the prediction log (call at shutdown).

    The state is forgotten, so a later ``get_serving()`` starts afresh with an
    empty cache (tests rely on this between apps).
    """
    global _serving
    with _lock:
        serving, _serving = _serving, None
    if serving is not None:
        serving.stop()


_heap_frozen = False


def _freeze_startup_heap() -> None:
    """Compile the forest kernels, then hide what exists from the cyclic garbage collector.

    After the imports and the kernels the process holds about 330,000 objects,
    and every full collection walked them all (about 160 ms). The prediction
    log keeps each answered request for up to a second, long enough to be
    promoted, so under load a full collection came every few thousand
    predictions. Frozen objects are still freed by reference counting; only
    cycles among them are never collected, hence once per process, right after
    a collection.
    """
    global _heap_frozen
    if _heap_frozen:
        return
    _heap_frozen = True
    compile_kernels()  # also spares the first prediction the compile
    gc.collect()
    gc.freeze()


@asynccontextmanager
async def serving_lifespan(_: Any = None) -> AsyncIterator[None]:
    """``async with serving_lifespan(app):`` inside the application's lifespan."""
    _freeze_startup_heap()
    start_serving()
    try:
        yield
    finally:
        stop_serving()
