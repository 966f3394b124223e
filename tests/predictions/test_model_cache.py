"""The model cache: LRU bound, one load per version, loads never block other versions."""

from __future__ import annotations

import threading
import time

import pytest

from api.predictions.model_cache import ModelCache


def test_least_recently_used_version_is_evicted_beyond_capacity() -> None:
    loads: list[int] = []

    def load(version: int) -> str:
        loads.append(version)
        return f"model-{version}"

    cache: ModelCache[str] = ModelCache(2, load)
    cache.get(1)
    cache.get(2)
    cache.get(1)  # 1 is now the most recently used
    cache.get(3)  # evicts 2
    assert cache.versions() == [1, 3]
    assert cache.get(1) == "model-1"
    cache.get(2)  # reloaded, evicts 3
    assert loads == [1, 2, 3, 2]
    assert cache.stats().evictions == 2
    assert cache.stats().size == 2


def test_capacity_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ModelCache(0, str)


def test_concurrent_requests_for_an_uncached_version_share_one_load() -> None:
    calls = 0
    release = threading.Event()

    def load(version: int) -> int:
        nonlocal calls
        calls += 1
        release.wait(5)
        return version * 10

    cache: ModelCache[int] = ModelCache(4, load)
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get(7))) for _ in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(0.1)
    release.set()
    for thread in threads:
        thread.join(5)
    assert results == [70] * 8
    assert calls == 1


def test_a_slow_load_does_not_block_requests_for_cached_versions() -> None:
    release = threading.Event()

    def load(version: int) -> int:
        if version == 2:
            release.wait(5)
        return version

    cache: ModelCache[int] = ModelCache(4, load)
    cache.get(1)
    loader = threading.Thread(target=cache.get, args=(2,))
    loader.start()
    time.sleep(0.05)  # version 2 is now loading
    started = time.perf_counter()
    assert cache.get(1) == 1
    assert time.perf_counter() - started < 0.05
    release.set()
    loader.join(5)
    assert cache.versions() == [1, 2]


def test_a_failed_load_reaches_the_caller_and_is_retried_next_time() -> None:
    attempts = 0

    def load(version: int) -> int:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("object store unavailable")
        return version

    cache: ModelCache[int] = ModelCache(2, load)
    with pytest.raises(RuntimeError, match="object store unavailable"):
        cache.get(5)
    assert cache.versions() == []
    assert cache.get(5) == 5
    assert attempts == 2
