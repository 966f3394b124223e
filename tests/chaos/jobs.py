"""What a chaos test does through the API and the object store, as a client would."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.chaos.cluster import Cluster
from tests.chaos.settings import BUCKET

TERMINAL = {"succeeded", "failed", "cancelled"}
INSTANCE = {
    "type": "departamento", "sector": "vitacura", "net_usable_area": 140, "net_area": 170,
    "n_rooms": 4, "n_bathroom": 4, "latitude": -33.40, "longitude": -70.58,
}  # fmt: skip


def upload_csv(cluster: Cluster, rows: int, seed: int, *, with_price: bool) -> tuple[str, Path]:
    """A synthetic CSV in the bucket (made once per session): its URI and local copy."""
    from api.ml.synth import generate_chunks

    name = f"synth-{rows}-{seed}{'-price' if with_price else ''}.csv"
    path = cluster.work / "inputs" / name
    uri = f"s3://{BUCKET}/inputs/{name}"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as out:
            for i, chunk in enumerate(generate_chunks(rows, seed, 100_000)):
                frame = chunk if with_price else chunk.drop(columns=["price"])
                frame.to_csv(out, header=i == 0, index=False)
        cluster.s3().upload_file(str(path), BUCKET, f"inputs/{name}")
    return uri, path


def submit(cluster: Cluster, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    path = "/v1/jobs/training" if kind == "training" else "/v1/jobs/batch-inference"
    with cluster.client() as client:
        answer = client.post(path, json=body)
    assert answer.status_code == 202, f"submit answered {answer.status_code}: {answer.text}"
    job: dict[str, Any] = answer.json()
    return job


def get_job(cluster: Cluster, job_id: str) -> dict[str, Any] | None:
    """The job, or None while the API cannot answer (an outage under test)."""
    try:
        with cluster.client(timeout=10) as client:
            answer = client.get(f"/v1/jobs/{job_id}")
    except httpx.HTTPError:
        return None
    return answer.json() if answer.status_code == 200 else None


def wait_job(
    cluster: Cluster,
    job_id: str,
    timeout: float,
    until: Callable[[dict[str, Any]], bool] | None = None,
) -> dict[str, Any]:
    """Poll until the job ends (or ``until(job)``); fail naming its last state."""
    deadline = time.monotonic() + timeout
    job: dict[str, Any] | None = None
    while True:
        job = get_job(cluster, job_id) or job
        if job is not None and (until(job) if until else job["status"] in TERMINAL):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} not there within {timeout:.0f} s; last: {job}")
        time.sleep(0.1)


def running_past(fraction: float) -> Callable[[dict[str, Any]], bool]:
    """For ``wait_job``: the job ended, or runs with at least ``fraction`` done."""
    return lambda job: (
        job["status"] in TERMINAL or (job["status"] == "running" and job["progress"] >= fraction)
    )


def models_of_job(cluster: Cluster, job_id: str) -> list[dict[str, Any]]:
    with cluster.client() as client:
        answer = client.get("/v1/models", params={"limit": 100})
    answer.raise_for_status()
    return [m for m in answer.json() if m.get("job_id") == job_id]


def split_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def object_exists(cluster: Cluster, uri: str) -> bool:
    bucket, key = split_uri(uri)
    listing = cluster.s3().list_objects_v2(Bucket=bucket, Prefix=key)
    return any(item["Key"] == key for item in listing.get("Contents", []))


def artifact_problem(cluster: Cluster, uri: str) -> str | None:
    """None when the artifact at ``uri`` exists and its signature verifies."""
    from api.ml.artifact import from_bytes

    if not object_exists(cluster, uri):
        return f"{uri} does not exist"
    bucket, key = split_uri(uri)
    data = cluster.s3().get_object(Bucket=bucket, Key=key)["Body"].read()
    try:
        from_bytes(data, signing_key=cluster.secrets["secret key"].encode())
    except Exception as exc:
        return f"{uri} does not load: {exc}"
    return None


def _lines(body: Any) -> Iterator[bytes]:
    pending = b""
    for block in body.iter_chunks(1 << 20):
        pending += block
        *complete, pending = pending.split(b"\n")
        yield from complete
    if pending:
        yield pending


def output_problem(cluster: Cluster, output_uri: str, input_path: Path) -> str | None:
    """None when the output holds exactly the input rows, in order, each with a price.

    Valid rows are written back byte for byte with ``,price_pred`` appended, so
    line ``i`` of the output must start with line ``i`` of the input plus a comma.
    """
    if not object_exists(cluster, output_uri):
        return f"{output_uri} does not exist"
    bucket, key = split_uri(output_uri)
    out = _lines(cluster.s3().get_object(Bucket=bucket, Key=key)["Body"])
    with input_path.open("rb") as source:
        for number, line in enumerate(source):
            expected = line.rstrip(b"\r\n") + b","
            got = next(out, None)
            if got is None:
                return f"output ends after {number} lines; the input has more"
            if not got.startswith(expected):
                return f"line {number}: expected {expected[:80]!r}..., got {got[:100]!r}"
    extra = sum(1 for line in out if line)
    return f"output has {extra} lines more than the input" if extra else None


def predict(
    cluster: Cluster, model: str | int = "production", timeout: float = 30
) -> httpx.Response:
    with cluster.client(timeout=timeout) as client:
        return client.post("/v1/predictions", json={"model": model, "instances": [INSTANCE]})


def status_of(cluster: Cluster, method: str, path: str, **kwargs: Any) -> int:
    """The status of one call, or 0 when no answer came (refused, timed out)."""
    try:
        with cluster.client(timeout=10) as client:
            return client.request(method, path, **kwargs).status_code
    except httpx.HTTPError:
        return 0


def poll_until(check: Callable[[], bool], timeout: float, interval: float = 0.1) -> float | None:
    """Seconds until ``check()`` held, or None if it never did within ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(interval)
    return None
