"""Fencing by attempt: each attempt stages its own outputs; only the winner publishes.

Two attempts of one job can be alive at once: a worker paused past the heartbeat
timeout wakes up after another worker took the job over. If both wrote to the
job's final keys, the loser could overwrite or delete the winner's model or
predictions. So an attempt writes only under its own staging prefix::

    s3://<service bucket>/staging/<job id>/<attempt>/<name>

and the runner publishes (copies to the final key, never replacing an object)
only inside the transaction that records the result, while it holds the job
row lock and has checked that the row still names this attempt. Whatever the
outcome, an attempt then deletes its own staging objects, and only those.

If a process dies between publishing and committing, the final key holds a copy
nobody recorded. The next attempt recognises it as a copy of an earlier
attempt's staging object of the same job (``ObjectStore.is_copy_of``) and
replaces it; anything else at a final key is never touched.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from api.config import get_settings
from api.logging import get_logger
from api.storage import InvalidUri, ObjectExists, get_store, parse_uri

log = get_logger("api.jobs.execution.outputs")

STAGING_PREFIX = "staging/"


def staging_uri(job_id: uuid.UUID | str, attempt: int, name: str) -> str:
    return f"s3://{get_settings().bucket}/{STAGING_PREFIX}{job_id}/{attempt}/{name}"


def staging_owner(uri: str) -> tuple[uuid.UUID, int] | None:
    """The (job id, attempt) a staging object belongs to, or None if it is not one."""
    try:
        key = parse_uri(uri).key
    except InvalidUri:
        return None
    if not key.startswith(STAGING_PREFIX):
        return None
    job_id, _, rest = key[len(STAGING_PREFIX) :].partition("/")
    attempt, _, _ = rest.partition("/")
    try:
        return uuid.UUID(job_id), int(attempt)
    except ValueError:
        return None


@dataclass(frozen=True)
class StagedOutput:
    final: str
    name: str
    staged: str
    # Objects whose concatenation is the output (a partitioned job's parts): then
    # nothing is written at ``staged``; publishing joins them at ``final``.
    parts: tuple[str, ...] = ()


@dataclass
class AttemptOutputs:
    """The outputs one attempt staged, and those it has published so far."""

    job_id: uuid.UUID
    attempt: int
    staged: dict[str, StagedOutput] = field(default_factory=dict)
    published: list[str] = field(default_factory=list)
    # Run by ``discard`` whatever the outcome: outputs staged outside the object
    # store (a source's staging tables) remove themselves here.
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def stage(self, final: str, name: str, parts: tuple[str, ...] = ()) -> str:
        """Where this attempt writes what it will publish at ``final``.

        With ``parts``, the output is their concatenation and is joined at
        ``final`` when published. A final location already holding someone
        else's object is refused now, before any work is spent on it, with
        ``output_exists``.
        """
        staged = staging_uri(self.job_id, self.attempt, name)
        output = StagedOutput(final, name, staged, parts)
        if get_store().exists(final) and self._earlier_copy(output) is None:
            raise ObjectExists.for_uri(final)
        self.staged[final] = output
        return output.staged

    def unstage(self, final: str) -> None:
        """Drop a staged output that turned out not to be needed."""
        output = self.staged.pop(final)
        get_store().delete(output.staged)

    def publish(self) -> None:
        """Copy every staged output to its final key.

        The caller holds the job row lock and has checked that the row still
        names this attempt, so no other attempt of the job publishes meanwhile.
        """
        for output in self.staged.values():
            try:
                _publish(output)
            except ObjectExists:
                earlier = self._earlier_copy(output)
                if earlier is None:
                    raise
                # Published by an attempt that died before recording it.
                log.warning("unrecorded_output_replaced", uri=output.final, attempt=earlier)
                get_store().delete(output.final)
                _publish(output)
            self.published.append(output.final)

    def unpublish(self) -> None:
        """Remove what :meth:`publish` wrote, when the result was not recorded after all."""
        store = get_store()
        for final in self.published:
            try:
                store.delete(final)
            except Exception:
                log.exception("unpublish_failed", uri=final)
        self.published.clear()

    def discard(self) -> None:
        """Delete this attempt's staging objects (never a published or another's object)."""
        store = get_store()
        for output in self.staged.values():
            try:
                store.delete(output.staged)
            except Exception:  # the sweeper removes it later
                log.exception("staging_cleanup_failed", uri=output.staged)
        self.staged.clear()
        for cleanup in self.cleanups:
            try:
                cleanup()
            except Exception:  # the sweeper removes it later
                log.exception("staging_cleanup_failed")
        self.cleanups.clear()

    def _earlier_copy(self, output: StagedOutput) -> int | None:
        """The earlier attempt of this job whose staging object ``output.final`` copies."""
        store = get_store()
        for attempt in range(self.attempt - 1, 0, -1):
            if store.is_copy_of(output.final, staging_uri(self.job_id, attempt, output.name)):
                return attempt
        return None


def _publish(output: StagedOutput) -> None:
    store = get_store()
    if output.parts:
        store.publish_parts(list(output.parts), output.staged, output.final)
    else:
        store.publish(output.staged, output.final)
