"""Comparables: the k nearest training listings of the same type, against brute force."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from api.ml.artifact import ModelArtifact, from_bytes, to_bytes
from api.ml.bundle import ComparablesUnavailable, compile_bundle
from api.ml.comparables import EARTH_RADIUS_M, ComparablesIndex
from api.ml.synth import generate
from api.ml.training import train
from api.ml.validation import validate_frame
from tests.ml.conftest import FAST_PARAMS


def _haversine(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat), np.radians(lats)
    dp, dl = p2 - p1, np.radians(lons - lon)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    metres: np.ndarray = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a))
    return metres


@pytest.fixture(scope="module")
def listings() -> pd.DataFrame:
    return validate_frame(generate(3_000, seed=21), require_target=True).frame


def test_the_nearest_listings_of_the_same_type_match_brute_force(listings: pd.DataFrame) -> None:
    index = ComparablesIndex.from_bytes(ComparablesIndex.from_frame(listings).to_bytes())
    queries = validate_frame(generate(40, seed=22), require_target=False).frame
    for record in queries.to_dict(orient="records"):
        found = index.nearest(record, 5)
        same = listings[listings["type"] == record["type"]]
        distances = _haversine(
            record["latitude"],
            record["longitude"],
            same["latitude"].to_numpy(),
            same["longitude"].to_numpy(),
        )
        order = np.argsort(distances, kind="stable")[:5]
        np.testing.assert_allclose(
            [c["distance_m"] for c in found], distances[order], atol=0.1, rtol=1e-9
        )
        nearest = same.iloc[order[0]]
        assert found[0]["price"] == nearest["price"]
        assert found[0]["sector"] == nearest["sector"]
        assert found[0]["net_usable_area"] == nearest["net_usable_area"]
        assert {c["type"] for c in found} == {record["type"]}
        for c in found:
            assert c["price_per_m2"] == pytest.approx(c["price"] / c["net_usable_area"])


def test_asking_for_more_than_there_are_returns_every_listing_of_the_type() -> None:
    frame = validate_frame(generate(60, seed=23), require_target=True).frame
    index = ComparablesIndex.from_frame(frame)
    record = frame.iloc[0].to_dict()
    count = int((frame["type"] == record["type"]).sum())
    found = index.nearest(record, count + 5)
    assert len(found) == count
    assert found[0]["distance_m"] == 0.0  # the listing itself


def test_models_carry_their_comparables_and_old_ones_do_not(listings: pd.DataFrame) -> None:
    result = train(listings, params=FAST_PARAMS)
    artifact = ModelArtifact.from_training(result, {"sha256": "0" * 64, "rows": 3000})
    key = b"k" * 32
    bundle = compile_bundle(from_bytes(to_bytes(artifact, key), key))
    record = listings.iloc[0].to_dict()
    assert len(bundle.require_comparables().nearest(record, 3)) == 3

    artifact.comparables = None  # as written before comparables existed
    old = compile_bundle(from_bytes(to_bytes(artifact, key), key))
    with pytest.raises(ComparablesUnavailable):
        old.require_comparables()
