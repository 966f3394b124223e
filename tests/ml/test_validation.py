from __future__ import annotations

import io
import time

import numpy as np
import pandas as pd

from api.ml.schema import FEATURES, TARGET
from api.ml.synth import generate
from api.ml.validation import Problem, missing_columns, validate_frame

HEADER = "type,sector,net_usable_area,net_area,n_rooms,n_bathroom,latitude,longitude,price"
GOOD = "casa,las condes,120,300,3,2,-33.41,-70.55,9000"


def read(*lines: str, header: str = HEADER) -> pd.DataFrame:
    """A frame as a CSV upload produces it (pandas infers dtypes)."""
    return pd.read_csv(io.StringIO("\n".join([header, *lines]) + "\n"))


def problems_of(*lines: str, require_target: bool = True) -> list[Problem]:
    return validate_frame(read(*lines), require_target=require_target).problems


def test_valid_rows_pass_with_no_problems() -> None:
    result = validate_frame(read(GOOD, GOOD), require_target=True)
    assert result.problems == []
    assert len(result.frame) == 2
    assert list(result.frame.columns) == [*FEATURES, TARGET]


def test_missing_column_is_reported_on_row_zero_and_no_rows_are_returned() -> None:
    frame = read("casa,120", header="type,net_area")
    result = validate_frame(frame, require_target=True)
    missing = {p.column for p in result.problems}
    assert missing == {"sector", "net_usable_area", "n_rooms", "n_bathroom", "latitude",
                       "longitude", "price"}  # fmt: skip
    assert all(p.row == 0 and p.reason == "missing column" for p in result.problems)
    assert result.frame.empty


def test_price_column_is_only_required_for_training() -> None:
    header = HEADER.removesuffix(",price")
    assert missing_columns(header.split(",")) == []
    assert missing_columns(header.split(","), require_target=True) == ["price"]
    result = validate_frame(read(GOOD.rsplit(",", 1)[0], header=header), require_target=False)
    assert result.problems == []


def test_non_numeric_value_is_reported_with_row_column_and_value() -> None:
    problems = problems_of(GOOD, "casa,las condes,120,300,tres,2,-33.41,-70.55,9000")
    assert problems == [Problem(2, "n_rooms", "not a number: 'tres'")]


def test_empty_numeric_value_is_reported() -> None:
    problems = problems_of("casa,las condes,,300,3,2,-33.41,-70.55,9000")
    assert problems == [Problem(1, "net_usable_area", "empty value")]


def test_negative_area_is_reported_with_row_and_column() -> None:
    problems = problems_of(GOOD, GOOD, "casa,las condes,120,-5,3,2,-33.41,-70.55,9000")
    assert problems == [Problem(3, "net_area", "negative area: -5")]


def test_negative_room_and_bathroom_counts_are_reported() -> None:
    problems = problems_of("casa,las condes,120,300,-1,-2,-33.41,-70.55,9000")
    assert problems == [
        Problem(1, "n_rooms", "negative count: -1"),
        Problem(1, "n_bathroom", "negative count: -2"),
    ]


def test_coordinates_outside_chile_are_reported() -> None:
    problems = problems_of("casa,las condes,120,300,3,2,33.41,-170.55,9000")
    assert [(p.row, p.column) for p in problems] == [(1, "latitude"), (1, "longitude")]
    assert problems[0].reason == "latitude outside Chile (-56.0 to -17.5): 33.41"
    assert problems[1].reason.startswith("longitude outside Chile")


def test_unknown_type_names_the_allowed_values() -> None:
    problems = problems_of("oficina,las condes,120,300,3,2,-33.41,-70.55,9000")
    assert problems == [Problem(1, "type", "unknown type 'oficina'; allowed: casa, departamento")]


def test_empty_sector_is_reported() -> None:
    problems = problems_of('casa,"  ",120,300,3,2,-33.41,-70.55,9000', "casa,,1,1,1,1,-33,-70,1")
    assert problems == [Problem(1, "sector", "empty value"), Problem(2, "sector", "empty value")]


def test_missing_and_negative_prices_are_reported_only_when_training() -> None:
    lines = ("casa,las condes,120,300,3,2,-33.41,-70.55,", GOOD.replace(",9000", ",-1"))
    assert problems_of(*lines) == [
        Problem(1, "price", "missing price"),
        Problem(2, "price", "negative price: -1"),
    ]
    assert problems_of(*lines, require_target=False) == []


def test_infinite_values_are_reported() -> None:
    problems = problems_of("casa,las condes,inf,300,3,2,-33.41,-70.55,9000")
    assert problems == [Problem(1, "net_usable_area", "not a finite number")]


def test_a_value_beyond_float32_is_a_row_problem_not_a_crash() -> None:
    # The trees compare float32 (a price reaches them through the target encoding):
    # 1e39 would become infinity there. Such rows must land among the invalid rows,
    # while a large but representable value passes.
    result = validate_frame(
        read(
            GOOD,
            "casa,las condes,120,1e39,3,2,-33.41,-70.55,9000",
            "casa,las condes,120,3e38,3,2,-33.41,-70.55,9000",
            "casa,las condes,120,300,3,2,-33.41,-70.55,1e300",
        ),
        require_target=True,
    )
    limit = "the trees compare float32, at most 3.4028235e+38"
    assert result.problems == [
        Problem(2, "net_area", f"1e+39 is too large for the model ({limit})"),
        Problem(4, "price", f"1e+300 is too large for the model ({limit})"),
    ]
    assert len(result.frame) == 2


def test_true_and_false_are_not_numbers_however_the_rows_are_chunked() -> None:
    # A chunk whose column holds only booleans reads as bool; it must be refused as
    # the same cells are in a chunk where the column reads as text.
    frame = read(GOOD).assign(n_rooms=[True])
    assert frame["n_rooms"].dtype == bool
    problems = validate_frame(frame, require_target=True).problems
    assert problems == [Problem(1, "n_rooms", "not a number: 'True'")]


def test_every_problem_of_a_row_is_reported_and_only_valid_rows_are_kept() -> None:
    result = validate_frame(
        read(GOOD, "villa,,x,-1,3,2,-33.41,-70.55,-4", GOOD), require_target=True
    )
    assert [(p.row, p.column) for p in result.problems] == [
        (2, "type"), (2, "sector"), (2, "net_usable_area"), (2, "net_area"), (2, "price"),
    ]  # fmt: skip
    assert list(result.frame.index) == [0, 2]
    assert list(result.rows) == [1, 3]


def test_row_offset_makes_row_numbers_file_wide() -> None:
    result = validate_frame(read(GOOD, GOOD.replace("casa", "loft")), require_target=True,
                            row_offset=1000)  # fmt: skip
    assert [p.row for p in result.problems] == [1002]
    assert list(result.rows) == [1001]


def test_text_is_trimmed_and_lower_cased_and_numbers_become_float64() -> None:
    raw = pd.DataFrame(
        {
            "type": [" Casa ", "DEPARTAMENTO"],
            "sector": ["  Las Condes", "Vitacura "],
            "net_usable_area": ["120", "80"],
            "net_area": [300, 90],
            "n_rooms": [3, 2],
            "n_bathroom": [2, 1],
            "latitude": ["-33.4", "-33.39"],
            "longitude": [-70.5, -70.6],
            "price": [9000, 7000],
        }
    )
    frame = validate_frame(raw, require_target=True).frame
    assert frame["type"].tolist() == ["casa", "departamento"]
    assert frame["sector"].tolist() == ["las condes", "vitacura"]
    for column in [*FEATURES[2:], TARGET]:
        assert frame[column].dtype == np.float64, column
    assert frame["net_usable_area"].tolist() == [120.0, 80.0]


def test_header_names_are_matched_case_and_space_insensitively() -> None:
    frame = read(GOOD, header=HEADER.replace("type", " Type "))
    assert validate_frame(frame, require_target=True).problems == []


def test_a_100k_row_chunk_validates_in_well_under_a_second() -> None:
    frame = generate(100_000, seed=5, dirty_fraction=0.01)
    started = time.perf_counter()
    result = validate_frame(frame, require_target=True)
    assert time.perf_counter() - started < 1.0
    assert len(result.problems) == 1000
    assert len(result.frame) == 99_000
