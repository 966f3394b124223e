"""Shared synthetic data for the ML tests (never the client's rows)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from api.ml.synth import generate
from api.ml.validation import validate_frame

# Small boosting so tests that are not about a preset's quality run in a second.
FAST_PARAMS = {"n_estimators": 30, "max_depth": 3}


@pytest.fixture(scope="session")
def synthetic_train() -> pd.DataFrame:
    return validate_frame(generate(2000, seed=11), require_target=True).frame


@pytest.fixture(scope="session")
def synthetic_test() -> pd.DataFrame:
    return validate_frame(generate(500, seed=12), require_target=True).frame


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # category_encoders sets a pandas option that pandas 3 deprecates; the warning is
    # the library's, repeated on every fit and predict, and says nothing about our code.
    here = Path(__file__).parent
    quiet = pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated")
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(quiet)
