"""Running jobs inside a worker, and keeping them moving when workers die.

``runner`` claims a job for one attempt, runs its work beside a ``heartbeat``
and records the end; ``context`` is what the work sees. The work itself is
``training_job`` (reads ``inputs``, fits, decides ``promotion``) or
``batch_job`` (streams the input through ``batch_io``). Every output goes to
the attempt's own staging location first (``outputs``) and is published only
by the attempt that records the result. The ``reaper`` re-sends or fails jobs
whose worker or message was lost, sends due webhook retries and, through the
``sweeper``, removes what dead attempts left in the object store.

Nothing here is imported by the HTTP side of ``api.jobs``; the Celery tasks in
``worker/`` and ``tasador reaper`` call in.
"""
