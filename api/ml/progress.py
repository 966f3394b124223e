"""Progress and cancellation of a training run, across its boosting fits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

# At most this many progress()/should_stop() calls per fit: callers may write to a
# database in them, and a fit can have thousands of boosting stages.
PROGRESS_STEPS: Final[int] = 100

ProgressCallback = Callable[[float], None]
StopCheck = Callable[[], bool]


class TrainingCancelled(Exception):
    """should_stop() returned True; the fit was abandoned at a stage boundary."""


class StageReporter:
    """Maps boosting stages of one or more fits onto a single monotone 0..1 progress."""

    def __init__(self, progress: ProgressCallback | None, should_stop: StopCheck | None) -> None:
        self._progress = progress
        self._should_stop = should_stop
        self._start = 0.0
        self._end = 1.0
        self._last_step = 0

    def phase(self, start: float, end: float) -> None:
        """The next fit's stages move progress from ``start`` to exactly ``end``."""
        self._start, self._end, self._last_step = start, end, 0
        self.check_stop()

    def check_stop(self) -> None:
        if self._should_stop is not None and self._should_stop():
            raise TrainingCancelled("training was cancelled")

    def monitor(self, i: int, estimator: Any, _locals: Any) -> bool:
        """GradientBoostingRegressor.fit's ``monitor``: called after stage ``i``."""
        step = (i + 1) * PROGRESS_STEPS // estimator.n_estimators
        if step > self._last_step:
            self._last_step = step
            self.check_stop()
            if self._progress is not None:
                span = self._end - self._start
                done = step >= PROGRESS_STEPS
                self._progress(self._end if done else self._start + span * step / PROGRESS_STEPS)
        return False
