"""Sweeping what dead attempts and interrupted writes left in the object store.

An attempt that dies (SIGKILL, a lost machine) cannot clean up after itself: its
staging objects stay under ``staging/<job id>/<attempt>/``, and a write it had
begun stays pending (a ``.tasador-tmp-*`` file on the local backend, an
unfinished multipart upload on S3). So does an upload cut off in the API.
Staging tables in data sources are swept too (``table_sweeper``).

The sweeper removes them from the service's bucket once they are older than
``sweep_age_seconds``, except those of an attempt that is still running: a long
batch job keeps writing its staging output for as long as it runs, and its
staging objects wait there until it publishes them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from api.config import get_settings
from api.db.base import utcnow
from api.db.session import session_scope
from api.jobs import repository
from api.jobs.execution.outputs import STAGING_PREFIX, staging_owner
from api.jobs.execution.table_sweeper import sweep_staging_tables
from api.logging import get_logger
from api.storage import get_store

log = get_logger("api.jobs.execution.sweeper")


@dataclass
class SweepReport:
    staging: int = 0  # staging objects of dead or finished attempts deleted
    pending: int = 0  # unfinished writes abandoned
    kept_live: int = 0  # old enough, but their attempt is still running
    tables: int = 0  # staging tables of dead attempts dropped from data sources


def sweep_leftovers(*, now: datetime | None = None, max_age: float | None = None) -> SweepReport:
    """Remove leftovers older than ``max_age`` seconds (default: ``sweep_age_seconds``)."""
    settings = get_settings()
    store = get_store()
    age = settings.sweep_age_seconds if max_age is None else max_age
    cutoff = (now or utcnow()) - timedelta(seconds=age)
    bucket = settings.bucket
    staged = [o.uri for o in store.list_objects(bucket, STAGING_PREFIX) if o.modified < cutoff]
    pending = [w for w in store.pending_writes(bucket) if w.started < cutoff]
    owners = {uri: staging_owner(uri) for uri in [*staged, *(w.uri for w in pending)]}
    with session_scope() as session:
        live = repository.running_attempts(
            session, {owner[0] for owner in owners.values() if owner is not None}
        )
    report = SweepReport()
    for uri in staged:
        if owners[uri] in live:
            report.kept_live += 1
        else:
            store.delete(uri)
            report.staging += 1
    for write in pending:
        if owners[write.uri] in live:
            report.kept_live += 1
        else:
            store.abandon(write)
            report.pending += 1
    report.tables = sweep_staging_tables()
    if report.staging or report.pending:
        log.info("leftovers_swept", **asdict(report))
    return report
