"""A per-process snapshot of the alias table, refreshed by a background thread.

Resolving ``production`` on every request would put a database query on the hot
path. Instead each API process re-reads the (tiny) alias table every
``alias_refresh_seconds`` and swaps in a new immutable dictionary, so an alias
move made through any process is followed by every other one within that
interval plus one query, and a request only reads a dictionary.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from types import MappingProxyType

from api.logging import get_logger

log = get_logger("api.predictions.aliases")

AliasReader = Callable[[], dict[str, int]]
ChangeListener = Callable[[Mapping[str, int], Mapping[str, int]], None]


class AliasSnapshot:
    """The latest alias -> version mapping seen by this process.

    ``current`` is None until the first successful read; callers then fall back
    to the database. Failed reads keep the previous snapshot (a database blip
    must not stop serving) and are retried at the next tick.
    """

    def __init__(
        self,
        reader: AliasReader,
        interval: float,
        on_change: ChangeListener | None = None,
    ) -> None:
        self._reader = reader
        self._interval = interval
        self._on_change = on_change
        self._current: Mapping[str, int] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    @property
    def current(self) -> Mapping[str, int] | None:
        return self._current

    def lookup(self, alias: str) -> int | None:
        snapshot = self._current
        return None if snapshot is None else snapshot.get(alias)

    def refresh(self) -> bool:
        """Read the aliases once; True when the read succeeded."""
        try:
            fresh = MappingProxyType(dict(self._reader()))
        except Exception as exc:  # any database error: keep serving the old snapshot
            if not self._failing:
                log.warning("alias_refresh_failed", error=f"{type(exc).__name__}: {exc}")
            self._failing = True
            return False
        if self._failing:
            log.info("alias_refresh_recovered")
        self._failing = False
        previous = self._current
        self._current = fresh
        if previous is not None and previous != fresh:
            log.info("aliases_changed", before=dict(previous), after=dict(fresh))
        if self._on_change is not None and previous != fresh:
            try:
                self._on_change(previous or {}, fresh)
            except Exception:  # a failed warm-up must not stop the watcher
                log.exception("alias_change_handler_failed")
        return True

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="alias-snapshot", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.refresh()
            self._stop.wait(self._interval)
