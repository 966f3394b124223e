"""HTTP load generator, run as its own process: ``python -m tests.perf.load SPEC_JSON``.

The spec names the server, a bearer token, the number of concurrent clients and
a list of runs (method, path, optional JSON body, duration). Each run keeps that
many asyncio clients busy, each sending its next request as soon as the previous
answer arrived (closed loop, keep-alive connections), and reports requests per
second, latency percentiles, non-2xx answers and this process's CPU use, which
tells whether the generator rather than the server was the bottleneck. The
results go to stdout as one JSON list.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import httpx

from tests.perf.report import percentile


async def _client(
    client: httpx.AsyncClient, run: dict[str, Any], stop: float, latencies: list[float]
) -> int:
    errors = 0
    method, path = run["method"], run["path"]
    content = json.dumps(run["body"]).encode() if run.get("body") is not None else None
    headers = {"Content-Type": "application/json"} if content else None
    while time.perf_counter() < stop:
        started = time.perf_counter()
        response = await client.request(method, path, content=content, headers=headers)
        latencies.append(time.perf_counter() - started)
        if response.status_code >= 300:
            errors += 1
    return errors


async def _run(spec: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    concurrency = spec["concurrency"]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=spec["url"],
        headers={"Authorization": f"Bearer {spec['token']}"},
        limits=limits,
        timeout=60,
    ) as client:
        # Open every connection and warm the server before measuring.
        await asyncio.gather(
            *(_client(client, run, time.perf_counter() + run.get("warmup", 1.0), [])
              for _ in range(concurrency))
        )  # fmt: skip
        latencies: list[float] = []
        cpu_before, started = time.process_time(), time.perf_counter()
        stop = started + run["duration"]
        errors = await asyncio.gather(
            *(_client(client, run, stop, latencies) for _ in range(concurrency))
        )
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_before
    return {
        "name": run["name"],
        "requests": len(latencies),
        "errors": sum(errors),
        "seconds": seconds,
        "rps": len(latencies) / seconds,
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "client_cpu_share": cpu / seconds,
    }


def main() -> None:
    spec = json.loads(sys.argv[1])
    results = [asyncio.run(_run(spec, run)) for run in spec["runs"]]
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
