"""Case sources: batch jobs that read a Postgres table and write a new table.

The client's database is ``<bench database>_client`` on the same server. A
100k-row and a 1M-row table of synthetic listings (loaded once with ``COPY``)
are predicted with the notebook model into a new table each time, by one
worker whose pool child is replaced after every task, so each job's peak
resident memory is its own (as in the batch case). The 1M-row run's peak must
stay within 20 % of the 100k-row run's: rows are streamed through a
server-side cursor and written through ``COPY``, never held whole.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from tests.perf.fixtures import synthetic_csv
from tests.perf.jobs import MemoryProbe, wait_for
from tests.perf.report import Results, Row, summary
from tests.perf.stack import Stack, create_database_if_missing

RSS_GROWTH_LIMIT = 0.20
_COLUMNS = "type, sector, net_usable_area, net_area, n_rooms, n_bathroom, latitude, longitude"


def _client_url(stack: Stack) -> str:
    url = make_url(stack.database_url)
    return url.set(database=f"{url.database}_client").render_as_string(hide_password=False)


def _prepare(url: str, sizes: list[int]) -> None:
    """The listings tables, loaded once per database (kept between runs)."""
    target = make_url(url)
    create_database_if_missing(target)
    engine = create_engine(target, poolclass=NullPool)
    with engine.begin() as conn:
        for name in conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE tablename "
                "LIKE 'scored%' AND schemaname = 'public'"
            )
        ).scalars():
            conn.execute(text(f'DROP TABLE "{name}"'))  # left by an interrupted run
    for rows in sizes:
        table = f"listings_{rows}"
        with engine.begin() as conn:
            if conn.execute(text("SELECT to_regclass(:t)"), {"t": table}).scalar():
                continue
            conn.execute(text(
                f"CREATE TABLE {table} (listing_id bigserial PRIMARY KEY, type text, "
                "sector text, net_usable_area float8, net_area float8, n_rooms float8, "
                "n_bathroom float8, latitude float8, longitude float8)"
            ))  # fmt: skip
            cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            copy_sql = f"COPY {table} ({_COLUMNS}) FROM STDIN (FORMAT csv, HEADER)"
            with synthetic_csv(rows, seed=1).open("rb") as src, cursor.copy(copy_sql) as copy:
                while block := src.read(8 << 20):
                    copy.write(block)
    engine.dispose()


def _drop(url: str, table: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(text(f'DROP TABLE IF EXISTS "{table}", "{table}_errors"'))
    engine.dispose()


def _one_job(stack: Stack, worker_pid: int, url: str, rows: int) -> Any:
    probe = MemoryProbe(worker_pid)
    probe.sample()
    output = f"scored_{uuid.uuid4().hex[:8]}"
    body = {
        "input_data": {"source": "bench", "table": f"listings_{rows}"},
        "output_data": {"source": "bench", "table": output},
        "model": "notebook",
    }
    with stack.client() as client:
        answer = client.post("/v1/jobs/batch-inference", json=body)
        answer.raise_for_status()
    job_id = uuid.UUID(answer.json()["id"])
    job = wait_for(stack.engine(), [job_id], 900, probe)[job_id]
    if job.status != "succeeded":
        raise RuntimeError(f"sources job {job_id} ended {job.status}: {job.error}")
    _drop(url, output)
    return job, probe.peak_mib()


def run(stack: Stack, results: Results, *, quick: bool) -> None:
    sizes = [100_000] if quick else [100_000, 1_000_000]
    url = _client_url(stack)
    _prepare(url, sizes)
    with stack.client() as client:
        client.delete("/v1/data-sources/bench")
        body = {"name": "bench", "url": url, "writable": True}
        client.post("/v1/data-sources", json=body).raise_for_status()
    worker = stack.start_worker(
        "sources", concurrency=1, queues="inference", extra=["--max-tasks-per-child", "1"]
    )
    measured: dict[int, dict[str, list[float]]] = {}
    details: dict[str, Any] = {"jobs": []}
    try:
        for rows in sizes:
            figures = measured.setdefault(rows, {"rps": [], "peak": []})
            for _ in range(1 if quick else 2):
                job, peak = _one_job(stack, worker.proc.pid, url, rows)
                assert job.result is not None and job.total_seconds
                if job.result["rows"] != rows:
                    raise RuntimeError(f"sources job wrote {job.result['rows']} of {rows} rows")
                figures["rps"].append(rows / job.total_seconds)
                figures["peak"].append(peak)
                details["jobs"].append(
                    {"rows": rows, "total_seconds": job.total_seconds,
                     "run_seconds": job.run_seconds, "peak_rss_mib": peak}
                )  # fmt: skip
    finally:
        stack.stop(worker)
    for rows, figures in measured.items():
        results.add(
            Row("sources", f"{rows:,}-row Postgres table -> new table, notebook model",
                summary(figures["rps"]), "rows/s", note="submit to finished"),
            Row("sources", f"{rows:,}-row table, worker peak RSS", summary(figures["peak"]), "MiB"),
        )  # fmt: skip
    small, big = measured.get(100_000), measured.get(1_000_000)
    if small and big:
        growth = summary([b / a - 1 for a, b in zip(small["peak"], big["peak"], strict=False)])
        results.add(
            Row("sources", "peak RSS growth, 100k -> 1M rows", growth, "ratio",
                f"< {RSS_GROWTH_LIMIT:.2f}", growth["median"] < RSS_GROWTH_LIMIT),
        )  # fmt: skip
    results.details["sources"] = details
