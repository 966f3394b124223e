"""Where the tests find the client's own data, which the repository never holds.

``TASADOR_TRAIN_CSV`` names the client's ``train.csv``; without it the file is
looked for beside the repository, at ``../shared/data/train.csv``. Tests and
benchmarks that need the file skip cleanly when it is not there, so a fresh
clone runs the suite on synthetic data alone.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

import pytest

REPO_ROOT: Final[Path] = Path(__file__).resolve().parents[1]
TRAIN_CSV_VARIABLE: Final[str] = "TASADOR_TRAIN_CSV"
DEFAULT_TRAIN_CSV: Final[Path] = REPO_ROOT.parent / "shared" / "data" / "train.csv"


def client_train_csv() -> Path:
    """The configured location of the client's train.csv (it may not exist)."""
    configured = os.environ.get(TRAIN_CSV_VARIABLE)
    return Path(configured).expanduser() if configured else DEFAULT_TRAIN_CSV


# Skips the marked test, naming the place looked at, when the file is absent.
needs_client_train_csv = pytest.mark.skipif(
    not client_train_csv().is_file(),
    reason=f"the client's train.csv is not at {client_train_csv()} (set {TRAIN_CSV_VARIABLE})",
)
