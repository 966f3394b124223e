"""Prometheus metrics (``GET /metrics``): HTTP traffic, jobs, queues, predictions, logs.

Counters and histograms are updated where things happen; job counts and queue
depths are read from the database (through the jobs service) and the broker
when Prometheus scrapes, so every API process reports the same, true numbers.
The serving cache and prediction log add their own collector
(``api.predictions.collector``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from api import queue
from api.db.session import session_scope
from api.jobs import service as jobs_service
from api.log_writer import dropped_lines
from api.logging import get_logger

log = get_logger("api.observability")
REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "tasador_http_requests_total",
    "HTTP requests by route template, method and status.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "tasador_http_request_seconds",
    "HTTP request latency by route template.",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
PREDICTION_LATENCY = Histogram(
    "tasador_prediction_seconds",
    "Time to predict one request's instances (model inference only).",
    buckets=(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05),
    registry=REGISTRY,
)
PREDICTIONS = Counter(
    "tasador_predictions_total",
    "Instances predicted, by model version.",
    ["model_version"],
    registry=REGISTRY,
)
MODEL_SERVED = Gauge(
    "tasador_model_version_served",
    "The model version each alias resolves to in this process.",
    ["alias"],
    registry=REGISTRY,
)


class JobsCollector(Collector):
    """Job counts by kind and status, mean duration, and queue depths, at scrape time.

    ``describe`` names the families without reading anything: the registry calls
    it on registration, at import time, and a query there would build the
    database engine before the app has chosen how its pool behaves.
    """

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
        jobs = GaugeMetricFamily(
            "tasador_jobs", "Jobs by kind and status.", labels=["kind", "status"]
        )
        duration = GaugeMetricFamily(
            "tasador_job_duration_seconds_mean",
            "Mean run time of finished jobs by kind.",
            labels=["kind"],
        )
        depth = GaugeMetricFamily(
            "tasador_queue_depth", "Messages waiting in each queue.", labels=["queue"]
        )
        return jobs, duration, depth

    def describe(self) -> Iterator[Any]:
        yield from self._families()

    def collect(self) -> Iterator[Any]:
        jobs, duration, depth = self._families()
        try:
            self._jobs(jobs, duration)
        except Exception as exc:
            log.warning("metrics_jobs_unavailable", error=str(exc))
        try:
            self._queues(depth)
        except Exception as exc:
            log.warning("metrics_queues_unavailable", error=str(exc))
        yield from (jobs, duration, depth)

    @staticmethod
    def _jobs(jobs: GaugeMetricFamily, duration: GaugeMetricFamily) -> None:
        with session_scope() as session:
            stats = jobs_service.statistics(session)
        for (kind, status), count in stats.counts.items():
            jobs.add_metric([kind, status], count)
        for kind, seconds in stats.mean_run_seconds.items():
            duration.add_metric([kind], seconds)

    @staticmethod
    def _queues(depth: GaugeMetricFamily) -> None:
        for name, waiting in queue.depths(queue.QUEUES, timeout=1).items():
            depth.add_metric([name], waiting)


class LogCollector(Collector):
    """Lines the API dropped rather than wait for a log output that fell behind."""

    def describe(self) -> Iterator[Any]:
        yield CounterMetricFamily(
            "tasador_log_lines_dropped",
            "Log lines dropped because the log output could not keep up.",
        )

    def collect(self) -> Iterator[Any]:
        yield CounterMetricFamily(
            "tasador_log_lines_dropped",
            "Log lines dropped because the log output could not keep up.",
            value=dropped_lines(),
        )


REGISTRY.register(JobsCollector())
REGISTRY.register(LogCollector())
