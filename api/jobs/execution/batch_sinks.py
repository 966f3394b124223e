"""Where a batch job writes: staged objects in the store, or staging tables of a source.

:func:`open_sinks` gives the job two writable byte streams (predictions and
errors, as CSV) and, once they are written, a :class:`Sinks` whose
``result_fields`` say where the output went and whose ``publish`` makes it
final inside the transaction that records the job. Either way nothing reaches
its final place unless the job is recorded as succeeded: objects are published
by the runner (``api.jobs.execution.outputs``); staging tables are renamed by
``publish`` and dropped on every other end.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

from api.db.session import session_scope
from api.errors import InvalidInput
from api.jobs.execution.context import JobContext
from api.ownership import BatchAccess
from api.sources import service as sources_service
from api.sources import writing
from api.sources.connection import Target
from api.storage import get_store


@dataclass
class Sinks:
    output: IO[bytes]
    errors: IO[bytes]
    fields: dict[str, Any] = field(default_factory=dict)
    table: tuple[Target, str] | None = None  # (source, final table) for a table output

    def result_fields(self, failed: int) -> dict[str, Any]:
        """The batch result's location fields, given how many rows failed."""
        return {k: v for k, v in self.fields.items() if failed or not k.startswith("errors")}

    def publish(self, ctx: JobContext, failed: int) -> None:
        if self.table is not None:
            target, final = self.table
            writing.promote(target, final, ctx.job_id, ctx.attempt, errors=failed > 0)


def target_for_output(output: Mapping[str, Any]) -> Target:
    """The output's source, asked again when the job runs: it must still be writable."""
    with session_scope() as session:
        target = sources_service.target(session, str(output["source"]))
    if not target.writable:
        raise InvalidInput(
            f"output_data: source {target.name} is read-only now", code="source_read_only"
        )
    return target


@contextmanager
def open_sinks(ctx: JobContext, allowed: BatchAccess) -> Iterator[Sinks]:
    """Writable sinks for the job's outputs; their writes are kept only if the block ends
    normally (and the job is then recorded as succeeded)."""
    output = allowed.output_data
    if isinstance(output, str):
        assert allowed.errors_data is not None
        errors = allowed.errors_data
        staged_output = ctx.stage(output, "predictions.csv")
        staged_errors = ctx.stage(errors, "errors.csv")
        store = get_store()
        with ExitStack() as stack:
            out = stack.enter_context(store.open_write(staged_output))
            err = stack.enter_context(store.open_write(staged_errors))
            sinks = Sinks(out, err, {"output_data": output, "errors_data": errors})
            yield sinks
        return
    target = target_for_output(output)
    final = str(output["table"])
    job_id, attempt = ctx.job_id, ctx.attempt
    ctx.outputs.cleanups.append(lambda: writing.drop_staging(target, job_id, attempt=attempt))
    with writing.staged_tables(target, final, job_id, attempt) as (out_table, err_table):
        yield Sinks(
            out_table,  # type: ignore[arg-type]
            err_table,  # type: ignore[arg-type]
            {
                "output_source": target.name,
                "output_table": final,
                "errors_table": writing.errors_table(final),
            },
            (target, final),
        )
