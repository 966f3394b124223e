"""32 clients that open requests and go away, for 5 seconds, in each log format.

A client that leaves is not a server error: the API must go on answering at
once, and its access log must count no 500. Each format gets a fresh API process
of its own, so its log holds this burst and nothing else.
"""

from __future__ import annotations

import json
import random
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.chaos.cluster import Cluster
from tests.chaos.jobs import INSTANCE
from tests.chaos.logs import read_access_log
from tests.chaos.results import Record, Stopwatch

pytestmark = pytest.mark.timeout(300)

CLIENTS = 32
BURST_SECONDS = 5.0
FRESH_ANSWER_LIMIT = 1.0
# How long to wait for the fresh answer before calling the API stalled (for the figure).
PATIENCE = 30.0


@dataclass
class Traffic:
    abandoned: list[bytes]
    complete: bytes
    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, what: str) -> None:
        with self.lock:
            self.counts[what] += 1


def _traffic(cluster: Cluster, model: int) -> Traffic:
    """Requests the clients abandon (two predictions cut short, one ping) and a full ping.

    Nothing here is heavy: what is measured is the cost of clients leaving, not of load.
    """
    body = json.dumps({"model": model, "instances": [INSTANCE] * 50}).encode()
    key = f"X-API-Key: {cluster.api_key}\r\n".encode()
    head = (b"POST /v1/predictions HTTP/1.1\r\nHost: chaos\r\nContent-Type: application/json"
            b"\r\n" + key + f"Content-Length: {len(body)}\r\n\r\n".encode())  # fmt: skip
    ping = b"GET /v1/ping HTTP/1.1\r\nHost: chaos\r\n" + key
    return Traffic(
        abandoned=[head + body[: len(body) // 2], head, ping + b"\r\n"],
        complete=ping + b"Connection: close\r\n\r\n",
    )


def _abandon(port: int, request: bytes, rng: random.Random) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(request)
        time.sleep(rng.uniform(0.0, 0.03))
        if rng.random() < 0.5:  # half reset the connection, half close it
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _complete(port: int, request: bytes) -> bool:
    """Send a request and read its whole answer (the server closes); False on timeout."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(request)
        answer = b""
        try:
            while block := sock.recv(65536):
                answer += block
        except TimeoutError:
            return False
    return answer.startswith(b"HTTP/1.1 200")


def _burst(port: int, traffic: Traffic) -> None:
    """``CLIENTS`` threads, each in turn abandoning a request and completing one.

    Waiting for the complete one (at most 2 s) paces every client by the server,
    as real clients are, so a slow server is not also buried under a backlog.
    """
    deadline = time.monotonic() + BURST_SECONDS

    def client(index: int) -> None:
        rng = random.Random(index)
        while time.monotonic() < deadline:
            request = traffic.abandoned[traffic.counts["abandoned"] % len(traffic.abandoned)]
            try:
                _abandon(port, request, rng)
                traffic.counts["abandoned"] += 1
                traffic.counts[
                    "answered" if _complete(port, traffic.complete) else "unanswered"
                ] += 1
            except OSError:
                traffic.counts["connection_errors"] += 1
                time.sleep(0.01)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _fresh_prediction(url: str, key: str, model: int) -> tuple[int, float]:
    clock = Stopwatch()
    try:
        answer = httpx.post(
            f"{url}/v1/predictions", json={"model": model, "instances": [INSTANCE]},
            headers={"X-API-Key": key}, timeout=PATIENCE,
        )  # fmt: skip
    except httpx.HTTPError:
        return 0, clock()
    return answer.status_code, clock()


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_disconnecting_clients_neither_stall_the_api_nor_count_as_500s(
    cluster: Cluster, production: dict[str, Any], record: Record, log_format: str
) -> None:
    model = production["model_version"]
    api = cluster.start_api_process(f"api-{log_format}-disconnects", log_format)
    url = cluster.url_of(api)
    try:
        warm, _ = _fresh_prediction(url, cluster.api_key, model)  # model loaded before the burst
        assert warm == 200, f"the API did not serve before the burst: {warm}"
        traffic = _traffic(cluster, model)
        _burst(cluster.api_ports[api.name], traffic)
        status, seconds = _fresh_prediction(url, cluster.api_key, model)
    finally:
        cluster.stop(api)  # the log is complete once the process is gone
    log = read_access_log(api.log)
    for name, count in sorted(traffic.counts.items()):
        record.figure(f"burst_{name}", count)
    record.figure("fresh_answer_s", seconds if status else f"none within {PATIENCE:.0f}")
    record.figure("fresh_status", status)
    record.figure("access_log_statuses", dict(sorted(log.statuses.items())))
    record.figure("unhandled_errors", log.unhandled_errors)
    record.figure("log_megabytes", round(log.size_bytes / 1e6, 2))

    assert status == 200, f"no answer to a fresh request within {PATIENCE:.0f} s"
    assert seconds < FRESH_ANSWER_LIMIT, f"a fresh request took {seconds:.2f} s after the burst"
    assert log.statuses[500] == 0, f"{log.statuses[500]} requests logged as 500"
    assert log.unhandled_errors == 0, f"{log.unhandled_errors} unhandled_error lines"
