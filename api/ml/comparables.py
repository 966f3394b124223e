"""Comparables: the nearest training listings of the same type, as an appraiser checks.

The index keeps, per property type, the training rows' positions as points on
a sphere of the Earth's mean radius (3-D coordinates in metres) in a k-d tree,
and their areas, rooms, bathrooms and prices in flat arrays. The straight-line
(chord) distance between two such points orders neighbours exactly as the
great-circle distance does, so a tree query finds the true nearest listings
anywhere in Chile, with no map projection to distort them; the distance shown
is the great-circle one. A query costs a tree search and a few array reads: no
pandas on the hot path.

It is stored in the artifact as ``comparables.npz`` (plain arrays, read without
pickle) and the trees are rebuilt when a model is loaded.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

from api.ml.schema import PROPERTY_TYPES, TARGET

EARTH_RADIUS_M: Final[float] = 6_371_008.8
MAX_COMPARABLES: Final[int] = 10
VALUES: Final[tuple[str, ...]] = ("net_usable_area", "net_area", "n_rooms", "n_bathroom", TARGET)
_TYPES: Final[tuple[str, ...]] = tuple(sorted(PROPERTY_TYPES))


def _points(latitude: Any, longitude: Any) -> npt.NDArray[np.float64]:
    lat, lon = np.radians(np.asarray(latitude, float)), np.radians(np.asarray(longitude, float))
    cos_lat = np.cos(lat)
    xyz = np.stack([cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)], axis=-1)
    points: npt.NDArray[np.float64] = xyz * EARTH_RADIUS_M
    return points


@dataclass(frozen=True, slots=True)
class _TypeIndex:
    tree: cKDTree
    sectors: npt.NDArray[np.str_]  # the sector of each row
    values: npt.NDArray[np.float64]  # (rows, len(VALUES))
    coordinates: npt.NDArray[np.float64]  # (rows, 2): latitude, longitude


class ComparablesIndex:
    """Per-type k-d trees over training listings, with what to show of each."""

    def __init__(self, arrays: Mapping[str, npt.NDArray[Any]]) -> None:
        self.arrays = dict(arrays)
        self.rows = int(arrays["type"].size)
        self._by_type: dict[str, _TypeIndex] = {}
        for code, name in enumerate(_TYPES):
            rows = np.flatnonzero(arrays["type"] == code)
            if rows.size == 0:
                continue
            coordinates = arrays["coordinates"][rows]
            self._by_type[name] = _TypeIndex(
                tree=cKDTree(_points(coordinates[:, 0], coordinates[:, 1])),
                sectors=arrays["sectors"][arrays["sector"][rows]],
                values=arrays["values"][rows],
                coordinates=coordinates,
            )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> ComparablesIndex:
        """The index of validated training rows (with ``price``)."""
        known = frame[frame["type"].isin(_TYPES)]
        sector_codes, sectors = pd.factorize(known["sector"].astype(str))
        return cls(
            {
                "type": np.searchsorted(np.array(_TYPES), known["type"].to_numpy(str)).astype(
                    np.int8
                ),
                "sector": sector_codes.astype(np.int32),
                "sectors": np.asarray(sectors, dtype=str),
                "values": known[list(VALUES)].to_numpy(np.float64),
                "coordinates": known[["latitude", "longitude"]].to_numpy(np.float64),
            }
        )

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        a = self.arrays
        np.savez_compressed(
            buffer,
            type=a["type"],
            sector=a["sector"],
            sectors=a["sectors"],
            values=a["values"],
            coordinates=a["coordinates"],
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ComparablesIndex:
        with np.load(io.BytesIO(data), allow_pickle=False) as stored:
            return cls({name: stored[name] for name in stored.files})

    def nearest(self, record: Mapping[Any, Any], k: int) -> list[dict[str, Any]]:
        """The ``k`` listings of ``record``'s type nearest to it, nearest first."""
        index = self._by_type.get(str(record["type"]))
        if index is None:
            return []
        n = index.sectors.size
        lat, lon = math.radians(record["latitude"]), math.radians(record["longitude"])
        cos_lat = math.cos(lat)  # as _points, in plain floats: one point, no array overhead
        point = [cos_lat * math.cos(lon), cos_lat * math.sin(lon), math.sin(lat)]
        chords, rows = index.tree.query([c * EARTH_RADIUS_M for c in point], k=min(k, n))
        chords, rows = np.atleast_1d(chords).tolist(), np.atleast_1d(rows).tolist()
        metres = [
            2.0 * EARTH_RADIUS_M * math.asin(min(d / (2 * EARTH_RADIUS_M), 1.0)) for d in chords
        ]
        found = []
        for distance, row in zip(metres, rows, strict=True):
            usable, net, rooms, baths, price = index.values[row].tolist()
            latitude, longitude = index.coordinates[row].tolist()
            found.append(
                {
                    "distance_m": round(distance, 1),
                    "type": record["type"],
                    "sector": str(index.sectors[row]),
                    "net_usable_area": usable,
                    "net_area": net,
                    "n_rooms": rooms,
                    "n_bathroom": baths,
                    "latitude": latitude,
                    "longitude": longitude,
                    "price": price,
                    "price_per_m2": price / usable if usable > 0 else None,
                }
            )
        return found
