"""Synthetic property listings shaped like the client's training file.

Tests and benchmarks need realistic data but must never contain the client's
rows. The constants below are aggregate statistics of train.csv (after removing
the rows the cleaning rules drop): the share of each (sector, type) group, its
coordinate centroid and spread, the median and spread of log usable area, the
median price per m2 in UF, and simple fits of rooms on log area and bathrooms on
rooms. Rows are drawn independently from these, vectorised, so a million rows
take about a second.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

import numpy as np
import pandas as pd

from api.ml.schema import COLUMNS

# Per (sector, type) group: share of listings, latitude and longitude centroid and sd.
_PLACES: Final[list[tuple[str, str, float, float, float, float, float]]] = [
    ("la reina", "casa", 0.0545, -33.4448, -70.5447, 0.0081, 0.0163),
    ("la reina", "departamento", 0.0082, -33.4432, -70.5501, 0.0079, 0.0174),
    ("las condes", "casa", 0.1105, -33.4044, -70.5319, 0.0161, 0.0243),
    ("las condes", "departamento", 0.2371, -33.4084, -70.5575, 0.0146, 0.0304),
    ("lo barnechea", "casa", 0.1311, -33.3429, -70.5238, 0.014, 0.0241),
    ("lo barnechea", "departamento", 0.0469, -33.3558, -70.5205, 0.0126, 0.0158),
    ("nunoa", "casa", 0.027, -33.4532, -70.594, 0.0082, 0.0147),
    ("nunoa", "departamento", 0.0916, -33.4538, -70.5994, 0.0075, 0.0165),
    ("providencia", "casa", 0.0173, -33.4355, -70.6106, 0.0084, 0.0143),
    ("providencia", "departamento", 0.0966, -33.4325, -70.6073, 0.0071, 0.0109),
    ("vitacura", "casa", 0.0696, -33.3823, -70.5676, 0.0102, 0.0153),
    ("vitacura", "departamento", 0.1095, -33.3899, -70.5744, 0.0119, 0.0197),
]  # fmt: skip
# Same groups, same order: median and sd of log usable area, median UF per m2, sd of
# log UF per m2, median and sd of log(net_area / net_usable_area).
_SIZES: Final[list[tuple[float, float, float, float, float, float]]] = [
    (5.193, 0.392, 75.1, 0.212, 0.862, 0.413),  # la reina, casa
    (4.637, 0.35, 77.7, 0.199, 0.078, 0.089),  # la reina, departamento
    (5.394, 0.532, 83.3, 0.248, 0.859, 0.366),  # las condes, casa
    (4.836, 0.458, 85.7, 0.21, 0.105, 0.107),  # las condes, departamento
    (5.731, 0.436, 79.0, 0.192, 1.033, 0.347),  # lo barnechea, casa
    (4.942, 0.487, 89.8, 0.195, 0.126, 0.178),  # lo barnechea, departamento
    (5.075, 0.42, 70.1, 0.265, 0.563, 0.393),  # nunoa, casa
    (4.29, 0.3, 72.8, 0.189, 0.068, 0.074),  # nunoa, departamento
    (5.394, 0.404, 76.1, 0.313, 0.452, 0.429),  # providencia, casa
    (4.5, 0.378, 82.5, 0.218, 0.074, 0.087),  # providencia, departamento
    (5.438, 0.57, 95.9, 0.25, 0.775, 0.415),  # vitacura, casa
    (4.942, 0.428, 91.7, 0.201, 0.116, 0.115),  # vitacura, departamento
]  # fmt: skip
_TABLE: Final[np.ndarray] = np.array(
    [p[2:] + s for p, s in zip(_PLACES, _SIZES, strict=True)], dtype=np.float64
)
_SECTORS: Final[np.ndarray] = np.array([p[0] for p in _PLACES], dtype=object)
_TYPES: Final[np.ndarray] = np.array([p[1] for p in _PLACES], dtype=object)
_IS_HOUSE: Final[np.ndarray] = _TYPES == "casa"
# Price per m2 falls with size (elasticity on log area), per train.csv.
_SIZE_ELASTICITY: Final[float] = -0.17
# rooms ~ slope * log(area) + intercept (+ noise sd); bathrooms ~ on rooms; house, flat.
_ROOMS: Final[dict[bool, tuple[float, float, float]]] = {
    True: (1.084, -1.43, 1.12),
    False: (1.117, -2.361, 0.71),
}
_BATHS: Final[dict[bool, tuple[float, float, float]]] = {
    True: (0.607, 0.891, 1.28),
    False: (0.749, 0.404, 0.70),
}

# Kinds of deliberately bad values, applied in turn to the rows picked as dirty.
DIRTY_KINDS: Final[tuple[str, ...]] = (
    "negative_area",
    "unknown_type",
    "empty_sector",
    "latitude_outside_chile",
    "non_numeric_rooms",
    "missing_price",
)


def generate(rows: int, seed: int, *, dirty_fraction: float = 0.0) -> pd.DataFrame:
    """``rows`` listings with the client's CSV columns; the same seed gives the same frame.

    ``dirty_fraction`` of the rows (0 by default) get one bad value each, of the
    kinds in DIRTY_KINDS in turn, so tests can exercise validation on purpose.
    """
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    if not 0.0 <= dirty_fraction <= 1.0:
        raise ValueError(f"dirty_fraction must be in [0, 1], got {dirty_fraction}")
    return _draw(np.random.default_rng(seed), rows, dirty_fraction)


def generate_chunks(
    rows: int, seed: int, chunk_rows: int, *, dirty_fraction: float = 0.0
) -> Iterator[pd.DataFrame]:
    """``rows`` listings as frames of at most ``chunk_rows``, for files too big for memory.

    Each chunk has its own generator spawned from ``seed``, so the output is
    deterministic (but differs from ``generate(rows, seed)``).
    """
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    n_chunks = -(-rows // chunk_rows)
    for index, child in enumerate(np.random.SeedSequence(seed).spawn(n_chunks)):
        size = min(chunk_rows, rows - index * chunk_rows)
        yield _draw(np.random.default_rng(child), size, dirty_fraction)


def _draw(rng: np.random.Generator, rows: int, dirty_fraction: float) -> pd.DataFrame:
    shares = _TABLE[:, 0] / _TABLE[:, 0].sum()
    group = rng.choice(len(_PLACES), size=rows, p=shares)
    g = _TABLE[group]
    lat = g[:, 1] + g[:, 3] * rng.standard_normal(rows)
    lon = g[:, 2] + g[:, 4] * rng.standard_normal(rows)
    log_area = g[:, 5] + g[:, 6] * rng.standard_normal(rows)
    usable = np.maximum(np.round(np.exp(log_area)), 20.0)
    ratio = np.maximum(g[:, 9] + g[:, 10] * rng.standard_normal(rows), -0.05)
    net = np.round(usable * np.exp(ratio))

    house = _IS_HOUSE[group]
    rooms = np.empty(rows)
    baths = np.empty(rows)
    for is_house in (True, False):
        sel = house == is_house
        slope, intercept, sd = _ROOMS[is_house]
        r = slope * np.log(usable[sel]) + intercept + sd * rng.standard_normal(sel.sum())
        rooms[sel] = np.clip(np.round(r), 1, 12)
        slope, intercept, sd = _BATHS[is_house]
        b = slope * rooms[sel] + intercept + sd * rng.standard_normal(sel.sum())
        baths[sel] = np.clip(np.round(b), 1, 10)

    log_uf_m2 = (
        np.log(g[:, 7])
        + _SIZE_ELASTICITY * (log_area - g[:, 5])
        + g[:, 8] * rng.standard_normal(rows)
    )
    price = np.maximum(np.round(np.exp(log_uf_m2) * usable), 100).astype(np.int64)
    frame = pd.DataFrame(
        {
            "type": pd.array(_TYPES[group], dtype="str"),
            "sector": pd.array(_SECTORS[group], dtype="str"),
            "net_usable_area": usable,
            "net_area": net,
            "n_rooms": rooms,
            "n_bathroom": baths,
            "latitude": np.round(lat, 5),
            "longitude": np.round(lon, 5),
            "price": price,
        },
        columns=COLUMNS,
    )
    if dirty_fraction > 0:
        _dirty(frame, rng, dirty_fraction)
    return frame


def _dirty(frame: pd.DataFrame, rng: np.random.Generator, fraction: float) -> None:
    count = round(fraction * len(frame))
    picked = np.sort(rng.choice(len(frame), size=count, replace=False))
    kinds = np.arange(count) % len(DIRTY_KINDS)
    for kind_index, kind in enumerate(DIRTY_KINDS):
        rows = frame.index[picked[kinds == kind_index]]
        if kind == "negative_area":
            frame.loc[rows, "net_usable_area"] = -frame.loc[rows, "net_usable_area"]
        elif kind == "unknown_type":
            frame.loc[rows, "type"] = "oficina"
        elif kind == "empty_sector":
            frame.loc[rows, "sector"] = ""
        elif kind == "latitude_outside_chile":
            frame.loc[rows, "latitude"] = -frame.loc[rows, "latitude"]
        elif kind == "non_numeric_rooms":
            frame["n_rooms"] = frame["n_rooms"].astype(object)
            frame.loc[rows, "n_rooms"] = "tres"
        elif kind == "missing_price":
            frame["price"] = frame["price"].astype("float64")
            frame.loc[rows, "price"] = np.nan
