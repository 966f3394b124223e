"""Whether a freshly trained model becomes ``production``.

``if_better`` re-scores the current production model on the very rows the new
model was evaluated on (the test data, or the same seeded hold-out split), so
the two RMSEs are comparable. Scoring happens before the final transaction
(it loads an artifact and predicts); the final transaction only checks that
production did not move in between.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy.orm import Session

from api.db.session import session_scope
from api.jobs.execution.inputs import LoadedCsv
from api.logging import get_logger
from api.ml.metrics import compute_metrics
from api.ml.schema import FEATURES, TARGET
from api.ml.training import TrainResult, holdout_frame
from api.ownership import Promote
from api.registry import artifacts as registry_artifacts
from api.registry import service as registry_service

log = get_logger("api.jobs.execution.promotion")


@dataclass(frozen=True)
class Decision:
    mode: Promote
    promoted: bool = False
    reason: str = ""
    compared_with: int | None = None
    new_rmse: float | None = None
    old_rmse: float | None = None
    alias: str = registry_service.PRODUCTION


def _rmse_of(artifact_uri: str, frame: pd.DataFrame) -> float | None:
    predicted = registry_artifacts.load(artifact_uri).estimator.predict(frame[FEATURES])
    return compute_metrics(frame[TARGET].to_numpy(), predicted)["rmse"]


def decide_promotion(
    mode: Promote, result: TrainResult, train: LoadedCsv, test: LoadedCsv | None
) -> Decision:
    """Everything that can be decided before the final transaction."""
    if mode is not Promote.IF_BETTER:
        return Decision(mode)
    with session_scope() as session:
        current = registry_service.get_alias(session, registry_service.PRODUCTION)
        version = registry_service.get(session, current.version) if current else None
    if version is None:
        return Decision(mode)
    frame = test.frame if test is not None else holdout_frame(train.frame)
    new_rmse = result.metrics.get("rmse")
    try:
        old_rmse = _rmse_of(version.artifact_uri, frame)
    except Exception as exc:  # an unreadable old model must not block the new one
        # The reason is shown to the job's owner; the exception (paths, internals) is logged.
        log.exception("promotion_rescore_failed", compared_with=version.version, error=repr(exc))
        reason = f"could not re-score version {version.version} (see the worker log)"
        return Decision(mode, compared_with=version.version, reason=reason)
    return Decision(mode, compared_with=version.version, new_rmse=new_rmse, old_rmse=old_rmse)


def apply_promotion(session: Session, decision: Decision, new_version: int, actor: int) -> Decision:
    """Move ``production`` if the rules say so; returns the decision with its reason."""
    current = registry_service.get_alias(session, registry_service.PRODUCTION, for_update=True)
    if decision.mode is Promote.NEVER:
        return _kept(decision, "promote=never")
    if decision.mode is Promote.ALWAYS:
        return _promote(session, decision, new_version, actor, "promote=always")
    if current is None:
        return _promote(session, decision, new_version, actor, "first model: nothing in production")
    if decision.compared_with != current.version:
        return _kept(decision, f"production moved to version {current.version} during training")
    if decision.new_rmse is None or decision.old_rmse is None:
        return _kept(decision, decision.reason or "no comparable RMSE")
    if decision.new_rmse < decision.old_rmse:
        reason = (
            f"rmse {decision.new_rmse:.2f} beats version {current.version}'s "
            f"{decision.old_rmse:.2f} on the same data"
        )
        return _promote(session, decision, new_version, actor, reason)
    reason = (
        f"rmse {decision.new_rmse:.2f} does not beat version {current.version}'s "
        f"{decision.old_rmse:.2f} on the same data"
    )
    return _kept(decision, reason)


def _promote(session: Session, d: Decision, version: int, actor: int, reason: str) -> Decision:
    registry_service.move_alias(
        session, registry_service.PRODUCTION, version, actor_id=actor, reason=reason
    )
    return Decision(d.mode, True, reason, d.compared_with, d.new_rmse, d.old_rmse)


def _kept(d: Decision, reason: str) -> Decision:
    return Decision(d.mode, False, reason, d.compared_with, d.new_rmse, d.old_rmse)
