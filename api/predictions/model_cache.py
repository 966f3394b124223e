"""An LRU-bounded cache of compiled predictors, keyed by model version.

Loading a model (download, signature check, unpickling, compiling) takes from
tens of milliseconds to seconds. The cache guarantees that a load never stalls
requests for *other* versions: the short global lock only guards the dictionary,
and the load itself runs under a lock that belongs to the version being loaded.
Concurrent requests for the same uncached version wait for the one load instead
of each starting their own.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

V = TypeVar("V")


@dataclass(slots=True)
class _Slot:
    """The load lock of one version and how many requests currently use it."""

    lock: threading.Lock
    users: int = 0


@dataclass(frozen=True, slots=True)
class CacheStats:
    size: int
    capacity: int
    hits: int
    misses: int
    loads: int
    evictions: int


class ModelCache(Generic[V]):
    """Maps a version to a loaded value; keeps at most ``capacity`` of them.

    ``loader(version)`` builds the value; its exceptions reach every caller that
    was waiting for that load (each waiter then retries, so a transient failure
    is not cached).
    """

    def __init__(self, capacity: int, loader: Callable[[int], V]) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._loader = loader
        self._lock = threading.Lock()
        self._entries: OrderedDict[int, V] = OrderedDict()
        self._slots: dict[int, _Slot] = {}
        self._hits = self._misses = self._loads = self._evictions = 0

    def get(self, version: int) -> V:
        """The value for ``version``, loading it with the cache's loader on a miss."""
        return self.get_or_load(version, lambda: self._loader(version))

    def get_or_load(self, version: int, load: Callable[[], V]) -> V:
        """The value for ``version``, calling ``load()`` on a miss.

        The load runs under the version's own lock only: requests for cached
        versions are served meanwhile, and other requests for this version wait
        for this load rather than starting their own.
        """
        with self._lock:
            value = self._lookup(version)
            if value is not None:
                self._hits += 1
                return value
            self._misses += 1
            slot = self._slots.get(version)
            if slot is None:
                slot = self._slots[version] = _Slot(threading.Lock())
            slot.users += 1
        try:
            with slot.lock:
                # Someone else may have finished the load while we waited.
                with self._lock:
                    value = self._lookup(version)
                if value is not None:
                    return value
                value = load()
                with self._lock:
                    self._loads += 1
                    self._store(version, value)
                return value
        finally:
            with self._lock:
                slot.users -= 1
                if slot.users == 0:
                    self._slots.pop(version, None)

    def get_if_cached(self, version: int) -> V | None:
        """The value if cached (counted and ordered like a hit of ``get``), else None.

        Never loads, so it never blocks for longer than the dictionary lock.
        """
        with self._lock:
            value = self._lookup(version)
            if value is not None:
                self._hits += 1
            return value

    def peek(self, version: int) -> V | None:
        """The cached value without loading it or changing the LRU order."""
        with self._lock:
            return self._entries.get(version)

    def versions(self) -> list[int]:
        """Cached versions, least recently used first."""
        with self._lock:
            return list(self._entries)

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(
                len(self._entries),
                self.capacity,
                self._hits,
                self._misses,
                self._loads,
                self._evictions,
            )

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    # Both helpers run with self._lock held.
    def _lookup(self, version: int) -> V | None:
        value = self._entries.get(version)
        if value is not None:
            self._entries.move_to_end(version)
        return value

    def _store(self, version: int, value: V) -> None:
        self._entries[version] = value
        self._entries.move_to_end(version)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
            self._evictions += 1
