"""What happens when a job reaches a terminal state.

One call site for every terminal transition (success, failure, cancellation,
reaper), so follow-up work such as webhook deliveries is never forgotten on
one of the paths.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.db.tables.job import Job


def on_terminal(session: Session, job: Job) -> None:
    """Defer follow-up work for a job that just ended (runs after commit)."""
    if job.callback_url:
        # Imported here: the webhooks service reads jobs through api.jobs.service,
        # which imports this module, so a top-level import would be circular.
        from api.webhooks.service import schedule_final_event

        schedule_final_event(session, job)
