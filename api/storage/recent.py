"""A short memory of objects seen to exist, for a check that comes in bursts.

Every job submit checks that its input exists (a HEAD). A client that submits
many jobs on one file in a burst would otherwise send the store the same HEAD
hundreds of times a second. An object seen within the last ``ttl`` seconds
answers from memory; a missing object is never remembered, so a typo or a
location the caller may not read is refused at once, every time.

The price is a window of ``ttl`` seconds (1 by default) in which an object
deleted outside the service still passes the submit check; its job then fails
with ``object_not_found`` when the worker opens the input.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from api.storage.base import ObjectInfo, ObjectStore


class RecentObjects:
    def __init__(self, capacity: int = 1024) -> None:
        # Keyed by the store too: a process that switches stores (tests) never
        # gets one store's answer for another's object.
        self._seen: OrderedDict[tuple[int, str], tuple[float, ObjectInfo]] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def head(self, store: ObjectStore, uri: str, ttl: float) -> ObjectInfo:
        """``store.head(uri)``, or its answer from the last ``ttl`` seconds."""
        now, key = time.monotonic(), (id(store), uri)
        with self._lock:
            hit = self._seen.get(key)
        if hit is not None and now - hit[0] < ttl:
            return hit[1]
        info = store.head(uri)  # raises for a missing object: nothing is remembered
        if ttl > 0:
            with self._lock:
                self._seen[key] = (now, info)
                self._seen.move_to_end(key)
                while len(self._seen) > self._capacity:
                    self._seen.popitem(last=False)
        return info
