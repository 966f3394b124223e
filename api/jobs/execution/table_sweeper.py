"""Sweeping staging tables that dead attempts left in writable data sources.

An attempt that dies between committing its staging table and the job's end
(a SIGKILL, a lost machine) cannot drop it; the next attempt of the same job
drops the earlier ones, but a job that fails for good leaves it. The sweeper
drops every staging table whose attempt is not running now. A source that does
not answer is skipped (and logged); the next sweep tries again.
"""

from __future__ import annotations

from api.db.session import session_scope
from api.jobs import repository
from api.logging import get_logger
from api.sources import service as sources_service
from api.sources import writing

log = get_logger("api.jobs.execution.table_sweeper")


def sweep_staging_tables() -> int:
    """Drop staging tables of attempts that are not running; return how many."""
    with session_scope() as session:
        targets = [
            sources_service.target_of(source)
            for source in sources_service.list_all(session)
            if source.writable
        ]
    dropped = 0
    for target in targets:
        try:
            tables = writing.staging_tables(target)
            with session_scope() as session:
                live = repository.running_attempts(session, {t.job_id for t in tables})
            dead = [t for t in tables if (t.job_id, t.attempt) not in live]
            writing.drop_tables(target, dead)
            dropped += len(dead)
        except Exception as exc:
            log.warning("staging_tables_not_swept", source=target.name, error=type(exc).__name__)
    if dropped:
        log.info("staging_tables_swept", tables=dropped)
    return dropped
