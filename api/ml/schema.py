"""The feature schema shared by validation, training, artifacts and serving.

It is the client's CSV layout. Everything that reads or writes model inputs takes
its column names from here, so a column can never be renamed in one place only.
The lists are plain lists (not tuples) on purpose: ``frame[FEATURES]`` selects
columns, whereas ``frame[tuple]`` would look up a single MultiIndex key.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np

CATEGORICAL: Final[list[str]] = ["type", "sector"]
NUMERIC: Final[list[str]] = [
    "net_usable_area",
    "net_area",
    "n_rooms",
    "n_bathroom",
    "latitude",
    "longitude",
]
# Order matters: the pipeline's ColumnTransformer emits the encoded categorical
# columns first, then (with remainder="passthrough") the numeric ones in this order.
FEATURES: Final[list[str]] = [*CATEGORICAL, *NUMERIC]
TARGET: Final[str] = "price"
COLUMNS: Final[list[str]] = [*FEATURES, TARGET]

PROPERTY_TYPES: Final[frozenset[str]] = frozenset({"casa", "departamento"})

# Chile's mainland bounding box (Arica to Cape Horn, the Andes to the coast).
# Coordinates outside it are typing errors, e.g. swapped or unsigned lat/lon.
LATITUDE_RANGE: Final[tuple[float, float]] = (-56.0, -17.5)
LONGITUDE_RANGE: Final[tuple[float, float]] = (-76.0, -66.0)

# The trees compare features as float32 (a price reaches them through the target
# encoding): a larger number cannot be trained on nor predicted.
FLOAT32_MAX: Final[float] = float(np.finfo(np.float32).max)

AREA_COLUMNS: Final[list[str]] = ["net_usable_area", "net_area"]
COUNT_COLUMNS: Final[list[str]] = ["n_rooms", "n_bathroom"]

# Bumped whenever the meaning of a column changes; artifacts record it.
SCHEMA_VERSION: Final[int] = 1


def feature_schema() -> dict[str, Any]:
    """The schema as JSON-ready data, stored in every artifact and compared on load."""
    return {
        "version": SCHEMA_VERSION,
        "features": list(FEATURES),
        "categorical": list(CATEGORICAL),
        "numeric": list(NUMERIC),
        "target": TARGET,
        "property_types": sorted(PROPERTY_TYPES),
    }
