"""What serving and batch inference keep of an artifact: the compiled predictor
and, for models trained since they exist, the prediction intervals and the
comparables index."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api.ml.artifact import ModelArtifact
from api.ml.comparables import ComparablesIndex
from api.ml.intervals import IntervalModel
from api.ml.predictor import FastPredictor, compile_predictor


class IntervalUnavailable(Exception):
    """The model was trained before intervals were calibrated with it."""


class ComparablesUnavailable(Exception):
    """The model was trained before comparables were stored with it."""


@dataclass(frozen=True, slots=True)
class ModelBundle:
    predictor: FastPredictor
    intervals: IntervalModel | None = None
    comparables: ComparablesIndex | None = None

    def require_intervals(self) -> IntervalModel:
        if self.intervals is None:
            raise IntervalUnavailable(
                "this model version has no interval calibration (it was trained before "
                "intervals existed): retrain it to get ranges"
            )
        return self.intervals

    def require_comparables(self) -> ComparablesIndex:
        if self.comparables is None:
            raise ComparablesUnavailable(
                "this model version has no comparables (it was trained before they were "
                "stored with models): retrain it to get them"
            )
        return self.comparables


def intervals_of(metadata_extra: dict[str, Any]) -> IntervalModel | None:
    """The calibration stored in an artifact's ``extra`` metadata, if any."""
    return IntervalModel.from_json(metadata_extra.get("intervals"))


def compile_bundle(artifact: ModelArtifact) -> ModelBundle:
    """Compile the estimator and read the calibration (UnsupportedModel if it cannot)."""
    comparables = artifact.comparables
    return ModelBundle(
        compile_predictor(artifact.estimator),
        intervals_of(artifact.extra),
        None if comparables is None else ComparablesIndex.from_bytes(comparables),
    )
