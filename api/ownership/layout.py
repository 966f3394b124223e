"""Where things live in the service's bucket, and whose each place is.

    s3://<bucket>/datasets/<user id>/<dataset id>.csv   uploads (the owner reads them)
    s3://<bucket>/outputs/<user id>/...                 job outputs (the owner reads and writes)
    s3://<bucket>/models/<job id>/model.tsm             model artifacts (the service only)

The owner is part of the key, so a location's owner is known from its address
alone: the worker needs no database row to decide, and a key can name only one
owner (``parse_uri`` refuses ``..`` and empty segments).
"""

from __future__ import annotations

import enum
import re
import uuid
from dataclasses import dataclass

from api.config import Settings, get_settings
from api.storage.uri import ObjectAddress

DATASETS = "datasets"
OUTPUTS = "outputs"
MODELS = "models"

# Canonical user ids only: "007" must not pass for user 7.
_USER_ID = re.compile(r"^[1-9][0-9]{0,18}$")


class Area(enum.Enum):
    DATASETS = "datasets"  # a user's uploads
    OUTPUTS = "outputs"  # a user's job outputs
    SERVICE = "service"  # anything else in the service's bucket (artifacts, ...)
    ELSEWHERE = "elsewhere"  # another bucket


@dataclass(frozen=True, slots=True)
class Place:
    area: Area
    owner_id: int | None = None


def place_of(address: ObjectAddress, settings: Settings | None = None) -> Place:
    """Which area ``address`` is in and, for per-user areas, whose it is."""
    settings = settings or get_settings()
    if address.bucket != settings.bucket:
        return Place(Area.ELSEWHERE)
    top, _, rest = address.key.partition("/")
    owner, _, name = rest.partition("/")
    if top in (DATASETS, OUTPUTS) and name and _USER_ID.match(owner):
        return Place(Area(top), int(owner))
    return Place(Area.SERVICE)


def _root(settings: Settings | None) -> str:
    return f"s3://{(settings or get_settings()).bucket}"


def dataset_uri(owner_id: int, dataset_id: uuid.UUID, settings: Settings | None = None) -> str:
    return f"{_root(settings)}/{DATASETS}/{owner_id}/{dataset_id}.csv"


def output_prefix(owner_id: int, settings: Settings | None = None) -> str:
    """Everything a user's jobs may write lies under this prefix."""
    return f"{_root(settings)}/{OUTPUTS}/{owner_id}/"


def default_output(owner_id: int, job_id: uuid.UUID, settings: Settings | None = None) -> str:
    """Where a batch job writes when the caller names no ``output_data``.

    Derived from the job's id, so submit and every attempt of the worker agree
    without storing it, and no earlier object can be there.
    """
    return f"{output_prefix(owner_id, settings)}{job_id}/predictions.csv"


def errors_uri(output: str) -> str:
    """``out.csv`` -> ``out.errors.csv``: the rows a batch job could not predict."""
    stem = output[:-4] if output.lower().endswith(".csv") else output
    return f"{stem}.errors.csv"


def artifact_uri(job_id: str, settings: Settings | None = None) -> str:
    return f"{_root(settings)}/{MODELS}/{job_id}/model.tsm"
