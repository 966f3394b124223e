"""Prometheus view of this process's serving state, read when Prometheus scrapes.

Counting in the request path would cost a lock per request; the cache and the
log buffer already keep their own counters, so a collector reports them.
(Alias targets, predictions and inference time are in ``api.observability``.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from api.observability import REGISTRY


class ServingCollector(Collector):
    def __init__(self, current: Callable[[], Any]) -> None:
        self._current = current  # the running Serving, or None

    def collect(self) -> Iterator[Any]:
        serving = self._current()
        if serving is None:
            return
        cache, log = serving.cache.stats(), serving.log.stats()
        yield GaugeMetricFamily(
            "tasador_model_cache_size", "Compiled models held by this process.", value=cache.size
        )
        for name, value, text in (
            ("model_cache_loads", cache.loads, "Models loaded into the cache."),
            ("model_cache_evictions", cache.evictions, "Models evicted from the cache (LRU)."),
            ("prediction_log_written_rows", log.written_rows, "Prediction-log rows written."),
            ("prediction_log_dropped_rows", log.dropped_rows, "Rows dropped: buffer full."),
            ("prediction_log_failed_flushes", log.failed_flushes, "Failed log inserts."),
            (
                "prediction_log_rejected_rows",
                log.rejected_rows,
                "Rows the database refused (bad values), dropped so others are written.",
            ),
        ):
            yield CounterMetricFamily(f"tasador_{name}", text, value=value)
        yield GaugeMetricFamily(
            "tasador_prediction_log_buffered_rows",
            "Prediction-log rows waiting to be written.",
            value=log.buffered_rows,
        )


def register(current: Callable[[], Any]) -> None:
    """Add the collector once per process."""
    global _registered
    if not _registered:
        REGISTRY.register(ServingCollector(current))
        _registered = True


_registered = False
