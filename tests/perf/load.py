"""HTTP load generator, run as its own process: ``python -m tests.perf.load SPEC_JSON``.

The spec names the server, a bearer token and an API key, the number of
concurrent clients and a list of runs (method, path, optional JSON body, and a
duration or a request ``count``; ``auth`` picks the credential sent: ``bearer``
(the default), ``api_key`` or ``none``; ``url`` another server; ``collect``
names a field of the JSON answers to return, e.g. the ids of submitted jobs).
Each run keeps that many asyncio clients busy, each sending its next request as
soon as the previous answer arrived (closed loop, keep-alive connections), and
reports requests per second, latency percentiles, non-2xx answers and this
process's CPU use, which tells whether the generator rather than the server was
the bottleneck. The results go to stdout as one JSON list.

The clients speak HTTP/1.1 over plain asyncio streams with the request bytes
built once: a full HTTP client library spends about a millisecond of CPU per
request, which on a two-core machine capped the measured server near 80 req/s.
It understands only what uvicorn sends back (Content-Length bodies).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tests.perf.report import percentile

if TYPE_CHECKING:
    from tests.perf.stack import Stack


def _credential(spec: dict[str, Any], run: dict[str, Any]) -> list[str]:
    auth = run.get("auth", "bearer")
    if auth == "bearer":
        return [f"Authorization: Bearer {spec['token']}"]
    if auth == "api_key":
        return [f"X-API-Key: {spec['api_key']}"]
    if auth == "none":
        return []
    raise ValueError(f"run {run['name']!r}: auth must be bearer, api_key or none, not {auth!r}")


def _request_bytes(spec: dict[str, Any], run: dict[str, Any], host: str) -> bytes:
    body = json.dumps(run["body"]).encode() if run.get("body") is not None else b""
    lines = [
        f"{run['method']} {run['path']} HTTP/1.1",
        f"Host: {host}",
        *_credential(spec, run),
        f"Content-Length: {len(body)}",
    ]
    if body:
        lines.append("Content-Type: application/json")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    """Status code, whether the server keeps the connection open, and the body."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" not in headers:
        raise RuntimeError(f"answer without Content-Length: {status_line!r}")
    body = await reader.readexactly(int(headers["content-length"]))
    keep_alive = headers.get("connection", "").lower() != "close"
    return int(status_line.split(" ", 2)[1]), keep_alive, body


class _Budget:
    """Whether a client may send another request: until a deadline or a count."""

    def __init__(self, stop: float, count: int | None) -> None:
        self.stop, self.left = stop, count

    def take(self) -> bool:
        if self.left is None:
            return time.perf_counter() < self.stop
        self.left -= 1
        return self.left >= 0


async def _client(
    spec: dict[str, Any],
    run: dict[str, Any],
    budget: _Budget,
    latencies: list[float],
    collected: list[Any],
) -> int:
    url = urlsplit(run.get("url", spec["url"]))
    host, port = url.hostname or "127.0.0.1", url.port or 80
    request = _request_bytes(spec, run, f"{host}:{port}")
    errors = 0
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while budget.take():
            started = time.perf_counter()
            writer.write(request)
            status, keep_alive, body = await _read_response(reader)
            latencies.append(time.perf_counter() - started)
            if status >= 300:
                errors += 1
            elif "collect" in run:
                collected.append(json.loads(body)[run["collect"]])
            if not keep_alive:
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
    finally:
        writer.close()
    return errors


async def _run(spec: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    concurrency = spec["concurrency"]
    # Open every connection and warm the server before measuring (a run that
    # creates things, such as jobs, passes "warmup": 0).
    warm = _Budget(time.perf_counter() + run.get("warmup", 1.0), None)
    await asyncio.gather(*(_client(spec, run, warm, [], []) for _ in range(concurrency)))
    latencies: list[float] = []
    collected: list[Any] = []
    cpu_before, started = time.process_time(), time.perf_counter()
    budget = _Budget(started + run.get("duration", 0.0), run.get("count"))
    errors = await asyncio.gather(
        *(_client(spec, run, budget, latencies, collected) for _ in range(concurrency))
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
        "collected": collected,
    }


def measure(stack: Stack, concurrency: int, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run ``runs`` from a separate process (so it does not share this one's GIL)."""
    from tests.perf.stack import ROOT

    spec = {"url": stack.api_url, "token": stack.token, "api_key": stack.api_key,
            "concurrency": concurrency, "runs": runs}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "tests.perf.load", json.dumps(spec)],
        cwd=ROOT, env=stack.env, capture_output=True, check=True, timeout=900,
    )  # fmt: skip
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


def main() -> None:
    spec = json.loads(sys.argv[1])
    results = [asyncio.run(_run(spec, run)) for run in spec["runs"]]
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
