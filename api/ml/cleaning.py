"""Training-time cleaning rules for the ``default`` preset.

These rows are legal input (a prediction for them is still answered) but they
teach the model something false, so they are dropped before fitting. Each rule
is counted separately; a row failing several rules counts under the first.

- ``price_below_floor``: price under 100 UF (including 0). No property in the
  client's market sells for less; such rows are typing errors or prices in
  another unit (train.csv has one 0 and 14 under 100).
- ``zero_area``: ``net_usable_area`` or ``net_area`` is 0, a missing value
  written as 0 (32 rows in train.csv). Price per m2 is undefined for them.
- ``implausible_rooms``: more than 20 rooms or more than 20 bathrooms (counts
  up to 55 appear in train.csv; they are typos for a few rooms or are whole
  buildings).
- ``duplicate``: an exact repeat of an earlier row (all features and price).
  Duplicates over-weight one listing and, across a validation split, leak it.

Evaluation data is never cleaned: metrics describe the rows users send.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

from api.ml.schema import COLUMNS, TARGET

PRICE_FLOOR_UF: Final[float] = 100.0
MAX_ROOMS: Final[float] = 20.0


@dataclass(slots=True)
class CleaningReport:
    frame: pd.DataFrame
    rows_in: int
    dropped: dict[str, int] = field(default_factory=dict)

    @property
    def rows_out(self) -> int:
        return len(self.frame)


def clean_training_rows(df: pd.DataFrame) -> CleaningReport:
    """Drop the rows described in the module docstring; keep the others' order and index."""
    rules: list[tuple[str, np.ndarray]] = [
        ("price_below_floor", (df[TARGET] < PRICE_FLOOR_UF).to_numpy()),
        ("zero_area", ((df["net_usable_area"] <= 0) | (df["net_area"] <= 0)).to_numpy()),
        (
            "implausible_rooms",
            ((df["n_rooms"] > MAX_ROOMS) | (df["n_bathroom"] > MAX_ROOMS)).to_numpy(),
        ),
        ("duplicate", df.duplicated(subset=COLUMNS, keep="first").to_numpy()),
    ]
    drop = np.zeros(len(df), dtype=bool)
    dropped: dict[str, int] = {}
    for name, mask in rules:
        new = mask & ~drop
        dropped[name] = int(new.sum())
        drop |= new
    return CleaningReport(df[~drop], rows_in=len(df), dropped=dropped)
