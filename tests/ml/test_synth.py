from __future__ import annotations

import time

import numpy as np
import pandas as pd

from api.ml.schema import COLUMNS, PROPERTY_TYPES
from api.ml.synth import DIRTY_KINDS, generate, generate_chunks
from api.ml.validation import validate_frame


def test_columns_and_dtypes_match_the_clients_csv() -> None:
    frame = generate(100, seed=1)
    assert list(frame.columns) == COLUMNS
    assert frame["price"].dtype == np.int64
    assert all(frame[c].dtype == np.float64 for c in COLUMNS[2:-1])


def test_same_seed_gives_the_same_rows_and_another_seed_does_not() -> None:
    pd.testing.assert_frame_equal(generate(500, seed=4), generate(500, seed=4))
    assert not generate(500, seed=4).equals(generate(500, seed=5))


def test_values_are_plausible_santiago_listings() -> None:
    frame = generate(20_000, seed=2)
    assert set(frame["type"]) == PROPERTY_TYPES
    assert set(frame["sector"]) == {"las condes", "vitacura", "lo barnechea", "nunoa",
                                    "providencia", "la reina"}  # fmt: skip
    assert frame["latitude"].between(-33.6, -33.2).all()
    assert frame["longitude"].between(-70.75, -70.35).all()
    assert (frame["net_usable_area"] >= 20).all()
    assert frame["n_rooms"].between(1, 12).all() and frame["n_bathroom"].between(1, 10).all()
    uf_per_m2 = frame["price"] / frame["net_usable_area"]
    assert 60 < uf_per_m2.median() < 110
    share = frame["sector"].value_counts(normalize=True)
    assert share.index[0] == "las condes" and 0.3 < share.iloc[0] < 0.4
    houses = frame[frame["type"] == "casa"]["net_usable_area"].median()
    flats = frame[frame["type"] == "departamento"]["net_usable_area"].median()
    assert houses > flats


def test_clean_output_passes_validation() -> None:
    result = validate_frame(generate(5000, seed=3), require_target=True)
    assert result.problems == [] and len(result.frame) == 5000


def test_dirty_fraction_creates_each_kind_of_bad_value() -> None:
    result = validate_frame(generate(1200, seed=3, dirty_fraction=0.05), require_target=True)
    assert len(result.problems) == 60
    assert {p.column for p in result.problems} == {
        "net_usable_area", "type", "sector", "latitude", "n_rooms", "price"
    }  # fmt: skip
    assert len(DIRTY_KINDS) == 6


def test_chunks_are_deterministic_and_add_up_to_the_requested_rows() -> None:
    chunks = list(generate_chunks(2500, seed=9, chunk_rows=1000))
    assert [len(c) for c in chunks] == [1000, 1000, 500]
    again = list(generate_chunks(2500, seed=9, chunk_rows=1000))
    assert all(a.equals(b) for a, b in zip(chunks, again, strict=True))


def test_a_million_rows_generate_in_a_few_seconds() -> None:
    started = time.perf_counter()
    assert len(generate(1_000_000, seed=8)) == 1_000_000
    assert time.perf_counter() - started < 8.0
