"""Helpers for job tests: synthetic CSVs put into the test S3 bucket."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable

import pandas as pd
import pytest

from api.db.tables.user import User
from api.ml.synth import generate
from api.ownership import dataset_uri
from api.storage import get_store


def csv_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


@pytest.fixture
def put_csv(s3_settings: object, member: User) -> Callable[..., str]:
    """Store a CSV among ``member``'s datasets and return its s3:// URI."""

    def put(frame: pd.DataFrame | bytes) -> str:
        data = frame if isinstance(frame, bytes) else csv_bytes(frame)
        uri = dataset_uri(member.id, uuid.uuid4())
        get_store().put_bytes(uri, data)
        return uri

    return put


@pytest.fixture
def training_csv(put_csv: Callable[..., str]) -> str:
    return put_csv(generate(1_500, seed=7))


FAST_PARAMS = {"n_estimators": 30, "max_depth": 3}
