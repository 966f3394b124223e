"""Reproduce the cross-validated choice of the ``default`` preset's hyperparameters.

Run: ``.venv/bin/python -m tests.ml.select_default [--data PATH] [--only NAME,...]``

5-fold KFold (shuffled, seed 0) on the client's train.csv only. Each fold trains
exactly as ``api.ml.training.train`` does (the preset's cleaning rules on the
training part) and is scored on its validation rows as given, uncleaned, so every
candidate is judged on the same rows. Metrics are computed on the pooled
out-of-fold predictions; interval coverage and width on each validation fold,
calibrated on that fold's training part only. The search is deliberately small (the machine is
shared): first the target transform and loss at one mid-sized setting, then the
tree size / learning rate / stage count around the best of those.
Not collected by pytest (no ``test_`` prefix); it takes several minutes.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold

from api.ml.metrics import compute_metrics
from api.ml.schema import FEATURES, TARGET
from api.ml.training import train
from api.ml.validation import validate_frame
from tests.client_data import client_train_csv

FOLDS = 5
SEED = 0

_MID = {"n_estimators": 1000, "learning_rate": 0.05, "max_depth": 6, "subsample": 0.8}
_RAW = {**_MID, "loss": "squared_error", "log_target": False, "max_features": None}
# (name, preset, overrides)
CANDIDATES: list[tuple[str, str, dict[str, Any]]] = [
    ("notebook", "notebook", {}),
    # Stage 1: target transform x loss, at one mid-sized setting.
    ("sq-raw", "default", _RAW),
    ("huber-raw", "default", {**_RAW, "loss": "huber"}),
    ("sq-log", "default", {**_RAW, "log_target": True}),
    ("huber-log", "default", {**_RAW, "loss": "huber", "log_target": True}),
    ("abs-log", "default", {**_RAW, "loss": "absolute_error", "log_target": True}),
    ("huber-log-d4", "default", {**_RAW, "loss": "huber", "log_target": True, "max_depth": 4,
                                 "learning_rate": 0.1}),
    # Stage 2: squared error on the raw price won on RMSE at a fraction of huber's
    # cost (huber fits a quantile per leaf in Python); grow the trees and sample
    # features per split, which decorrelates the lat/lon-heavy trees.
    ("sq-d8-mf.6 (chosen)", "default", {**_RAW, "max_depth": 8, "max_features": 0.6}),
    ("sq-d10-mf.5", "default", {**_RAW, "max_depth": 10, "max_features": 0.5,
                                "learning_rate": 0.03, "n_estimators": 1500}),
]  # fmt: skip


def cross_validate(frame: pd.DataFrame, preset: str, overrides: dict[str, Any]) -> dict[str, Any]:
    predictions = np.empty(len(frame))
    folds: list[dict[str, Any]] = []
    started = time.perf_counter()
    for train_idx, val_idx in KFold(FOLDS, shuffle=True, random_state=SEED).split(frame):
        validation = frame.iloc[val_idx]
        np.random.seed(SEED)  # the notebook preset has random_state=None
        result = train(frame.iloc[train_idx], preset=preset, params=overrides, test_df=validation)
        predictions[val_idx] = result.estimator.predict(validation[FEATURES])
        folds.append(result.metrics)
    metrics = compute_metrics(frame[TARGET].to_numpy(), predictions)
    return {**metrics, "seconds_per_fit": (time.perf_counter() - started) / FOLDS, "folds": folds}


def interval_line(folds: list[dict[str, Any]]) -> str:
    """Interval coverage on the validation folds: mean (lowest to highest), mean width."""
    if not all("interval_80_coverage" in fold for fold in folds):
        return "    intervals: not calibrated"
    parts = []
    for level in (80, 90):
        cover = [fold[f"interval_{level}_coverage"] for fold in folds]
        width = np.mean([fold[f"interval_{level}_width"] for fold in folds])
        parts.append(
            f"{level} %: coverage {np.mean(cover):.3f} ({min(cover):.3f}-{max(cover):.3f}), "
            f"width {width:.3f}"
        )
    return "    intervals " + "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=client_train_csv())
    parser.add_argument("--only", default="", help="comma-separated candidate names")
    args = parser.parse_args()
    checked = validate_frame(pd.read_csv(args.data), require_target=True)
    if checked.problems:
        raise SystemExit(f"{len(checked.problems)} invalid rows, first: {checked.problems[0]}")
    chosen = set(filter(None, args.only.split(",")))
    header = (
        f"{'candidate':22}{'RMSE':>9}{'MAE':>9}{'MAPE':>8}{'medAPE':>8}{'in10%':>7}{'s/fit':>7}"
    )
    print(header, flush=True)
    for name, preset, overrides in CANDIDATES:
        if chosen and name not in chosen:
            continue
        m = cross_validate(checked.frame, preset, overrides)
        print(
            f"{name:22}{m['rmse']:9.0f}{m['mae']:9.0f}{m['mape']:8.3f}{m['median_ape']:8.3f}"
            f"{m['within_10pct']:7.3f}{m['seconds_per_fit']:7.1f}",
            flush=True,
        )
        print(interval_line(m["folds"]), flush=True)


if __name__ == "__main__":
    main()
