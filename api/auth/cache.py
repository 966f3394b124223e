"""A short-lived, per-process cache of what a credential resolved to.

Verifying a credential is cheap; asking the database whether its user is still
active, still has that role and whether the API key is still unrevoked is what
used to cost a round trip per request. This cache keeps that answer for
``ttl`` seconds, so a busy client costs one lookup per ``ttl`` per process and a
change (a revoked key, a disabled user, a new role), however it was made, is
seen by every process at most ``ttl`` seconds later.

An entry's age counts from the moment its lookup *started*: a lookup that read
the database just before a revocation committed cannot keep the old answer
alive past ``ttl`` after it.

Concurrent misses for one key share one lookup. Everything here runs on the
event loop, so the dictionaries need no lock; the lookup itself runs in the
thread pool. Failures (a refused credential, an unreachable database) are not
cached: the next request asks again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from starlette.concurrency import run_in_threadpool

from api.auth.tokens import read_access_expiry

V = TypeVar("V")

# Revocation must reach every API process within a second; half of it leaves
# room for the lookup itself and a request already past its check.
DEFAULT_TTL_SECONDS = 0.5
DEFAULT_MAX_ENTRIES = 10_000


class CredentialCache(Generic[V]):
    def __init__(
        self, ttl: float = DEFAULT_TTL_SECONDS, max_entries: int = DEFAULT_MAX_ENTRIES
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, V]] = {}
        self._loading: dict[Hashable, asyncio.Future[V]] = {}

    async def get(self, key: Hashable, load: Callable[[], V]) -> V:
        """The cached value of ``key``, or ``load()`` run in the thread pool."""
        while True:
            entry = self._entries.get(key)
            if entry is not None and time.monotonic() - entry[0] < self.ttl:
                return entry[1]
            pending = self._loading.get(key)
            if pending is None:
                return await self._load(key, load)
            try:
                # Shielded: a waiter that is cancelled must not cancel the others' lookup.
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                if not pending.cancelled():
                    raise  # this request was cancelled
                # The request doing the lookup went away; try again.

    async def reload(self, key: Hashable, load: Callable[[], V]) -> V:
        """A fresh lookup of ``key`` that replaces the cached value, for a caller
        that knows it is out of date (it joins no lookup already under way)."""
        return await self._load(key, load)

    async def _load(self, key: Hashable, load: Callable[[], V]) -> V:
        future: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        started = time.monotonic()
        try:
            value = await run_in_threadpool(load)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        finally:
            if self._loading.get(key) is future:  # a reload may have replaced it
                del self._loading[key]
        self._store(key, started, value)
        future.set_result(value)
        return value

    def _store(self, key: Hashable, started: float, value: V) -> None:
        self._entries.pop(key, None)
        if len(self._entries) >= self.max_entries:
            self._evict(time.monotonic())
        self._entries[key] = (started, value)

    def _evict(self, now: float) -> None:
        live = {k: e for k, e in self._entries.items() if now - e[0] < self.ttl}
        # Still full of live entries (an unusual number of active credentials):
        # start over rather than grow without bound; it costs one lookup each.
        self._entries = live if len(live) < self.max_entries else {}


class VerifiedTokens:
    """Access tokens whose signature and claims this process already checked.

    A token cannot change, so once verified it stays valid until its ``exp``;
    remembering that saves checking an HS256 signature and the claims (about
    40 us) on every request of a client that reuses its token. Whether the
    user may still use the API is not decided here (see ``CredentialCache``).
    """

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._subjects: dict[str, tuple[int, int, int]] = {}

    def subject(self, token: str) -> tuple[int, int]:
        """(user id, credentials generation) of the token; ``token_expired`` or
        ``invalid_token`` as on a first check."""
        known = self._subjects.get(token)
        if known is not None and time.time() < known[2]:
            return known[0], known[1]
        user_id, generation, expires = read_access_expiry(token)
        if len(self._subjects) >= self.max_entries:
            now = time.time()
            self._subjects = {t: s for t, s in self._subjects.items() if now < s[2]}
            if len(self._subjects) >= self.max_entries:
                self._subjects.clear()
        self._subjects[token] = (user_id, generation, expires)
        return user_id, generation
