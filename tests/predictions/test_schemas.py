"""Request validation: every bad instance is named by index and field."""

from __future__ import annotations

import json
import typing
from typing import Any

import pytest

from api.errors import InvalidInput
from api.ml.schema import FEATURES, PROPERTY_TYPES
from api.predictions.schemas import Instance, parse_request
from tests.predictions.conftest import instance


def problems(body: Any) -> InvalidInput:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    with pytest.raises(InvalidInput) as caught:
        parse_request(raw)
    return caught.value


def test_the_instance_schema_has_exactly_the_model_features() -> None:
    hints = typing.get_type_hints(Instance, include_extras=True)
    assert list(hints) == FEATURES
    type_literal = typing.get_args(typing.get_args(hints["type"])[0])
    assert set(type_literal) == PROPERTY_TYPES


def test_type_and_sector_are_trimmed_and_lower_cased() -> None:
    parsed = parse_request(
        json.dumps({"instances": [instance(type=" Casa ", sector="  Las Condes ")]}).encode()
    )
    assert parsed.instances[0]["type"] == "casa"
    assert parsed.instances[0]["sector"] == "las condes"
    assert parsed.model == "production"


def test_negative_area_is_reported_with_its_index_and_field() -> None:
    error = problems({"instances": [instance(), instance(), instance(), instance(net_area=-1)]})
    assert error.message == "instances[3].net_area: must be >= 0"
    assert error.details == [{"index": 3, "field": "net_area", "reason": "must be >= 0"}]


def test_every_bad_field_of_every_instance_is_listed() -> None:
    body = {
        "instances": [
            instance(type="oficina"),
            instance(),
            instance(latitude=40.0, n_rooms="three"),
        ]
    }
    error = problems(body)
    assert [(d["index"], d["field"]) for d in error.details] == [
        (0, "type"),
        (2, "n_rooms"),
        (2, "latitude"),
    ]
    assert "casa" in error.details[0]["reason"]
    assert "departamento" in error.details[0]["reason"]
    assert error.details[1]["reason"] == "must be a number"
    assert "Chile" in error.details[2]["reason"]


def test_missing_fields_and_empty_sector_are_named() -> None:
    partial = instance(sector="   ")
    del partial["longitude"]
    error = problems({"instances": [partial]})
    assert {(d["field"], d["reason"]) for d in error.details} == {
        ("sector", "must not be empty"),
        ("longitude", "is required"),
    }


@pytest.mark.parametrize("count", [0, 1001])
def test_instance_count_outside_1_to_1000_is_refused(count: int) -> None:
    error = problems({"instances": [instance()] * count})
    assert error.message == "instances: must hold 1 to 1000 instances"


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"instances": [3]}', b""])
def test_malformed_bodies_are_refused_without_crashing(body: bytes) -> None:
    error = problems(body)
    assert error.status_code == 422
    assert error.details


def test_non_finite_and_huge_numbers_are_refused() -> None:
    error = problems(b'{"instances": [{"net_area": NaN}]}')
    assert any(d["field"] == "net_area" for d in error.details)
    error = problems({"instances": [instance(net_usable_area=1e39)]})
    assert error.details[0]["field"] == "net_usable_area"


def test_model_may_be_an_alias_or_a_version_number() -> None:
    assert parse_request(json.dumps({"model": 3, "instances": [instance()]}).encode()).model == 3
    parsed = parse_request(json.dumps({"model": "Staging", "instances": [instance()]}).encode())
    assert parsed.model == "staging"
    error = problems({"model": True, "instances": [instance()]})
    assert error.details == [
        {"index": None, "field": "model", "reason": "must be an alias name or a version number"}
    ]
