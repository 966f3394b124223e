"""POST /v1/predictions with `interval` and `comparables`; 409 for models trained before."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.config import get_settings
from api.db.tables.user import User
from api.ml import artifact as artifacts
from api.ownership import dataset_uri
from tests.fixtures.db import HeadersFor, MakeUser
from tests.predictions.conftest import TrainedModel, instance, register


def _without_intervals(model: TrainedModel) -> TrainedModel:
    """``model`` as an artifact written before intervals existed."""
    key = get_settings().secret_key.get_secret_value().encode()
    artifact = artifacts.from_bytes(model.data, key)
    artifact.extra = {k: v for k, v in artifact.extra.items() if k != "intervals"}
    return TrainedModel(model.estimator, artifacts.to_bytes(artifact, key))


def _predict(api: TestClient, headers: dict[str, str], **body: Any) -> Any:
    return api.post("/v1/predictions", json=body, headers=headers)


def test_each_prediction_gets_a_range_that_widens_with_the_level(
    api: TestClient, member_headers: dict[str, str], registered_model: int
) -> None:
    instances = [instance(), instance(type="casa", net_usable_area=300.0, net_area=600.0)]
    plain = _predict(api, member_headers, instances=instances).json()["predictions"]
    assert all(set(p) == {"price"} for p in plain)
    at_80 = _predict(api, member_headers, instances=instances, interval=0.8)
    at_95 = _predict(api, member_headers, instances=instances, interval=0.95)
    assert at_80.status_code == 200, at_80.text
    ranged = zip(plain, at_80.json()["predictions"], at_95.json()["predictions"], strict=True)
    for p, narrow, wide in ranged:
        assert set(narrow) == {"price", "lower", "upper"}
        assert narrow["price"] == p["price"]
        assert wide["lower"] <= narrow["lower"] < p["price"] < narrow["upper"] <= wide["upper"]


@pytest.mark.parametrize("level", [0.3, 0.995, 1, "0.8", True])
def test_an_interval_outside_half_to_ninety_nine_answers_422(
    api: TestClient, member_headers: dict[str, str], registered_model: int, level: Any
) -> None:
    response = _predict(api, member_headers, instances=[instance()], interval=level)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == "interval"


def test_a_model_trained_before_intervals_answers_409_interval_unavailable(
    api: TestClient,
    db_session: Session,
    member_headers: dict[str, str],
    trained_models: list[TrainedModel],
) -> None:
    version = register(db_session, _without_intervals(trained_models[0]))
    response = _predict(api, member_headers, instances=[instance()], interval=0.8)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "interval_unavailable"
    assert response.json()["error"]["details"] == {"model_version": version}
    # Without an interval the same model still answers.
    assert _predict(api, member_headers, instances=[instance()]).status_code == 200


def _without_comparables(model: TrainedModel) -> TrainedModel:
    key = get_settings().secret_key.get_secret_value().encode()
    artifact = artifacts.from_bytes(model.data, key)
    artifact.comparables = None
    return TrainedModel(model.estimator, artifacts.to_bytes(artifact, key))


def test_each_prediction_lists_its_nearest_comparables_of_the_same_type(
    api: TestClient,
    db_session: Session,
    member: User,
    member_headers: dict[str, str],
    trained_models: list[TrainedModel],
) -> None:
    # Trained on the member's own dataset: its rows are theirs to see.
    register(db_session, trained_models[0], training_uri=dataset_uri(member.id, uuid.uuid4()))
    db_session.commit()
    instances = [instance(), instance(type="casa", latitude=-33.45, longitude=-70.6)]
    response = _predict(api, member_headers, instances=instances, comparables=5, interval=0.9)
    assert response.status_code == 200, response.text
    for asked, prediction in zip(instances, response.json()["predictions"], strict=True):
        assert set(prediction) == {"price", "lower", "upper", "comparables"}
        found = prediction["comparables"]
        assert len(found) == 5
        assert {c["type"] for c in found} == {asked["type"]}
        distances = [c["distance_m"] for c in found]
        assert distances == sorted(distances) and distances[0] >= 0
        assert set(found[0]) == {
            "distance_m", "type", "sector", "net_usable_area", "net_area", "n_rooms",
            "n_bathroom", "latitude", "longitude", "price", "price_per_m2",
        }  # fmt: skip


def test_comparables_of_a_model_trained_on_another_members_data_are_refused(
    api: TestClient,
    db_session: Session,
    make_user: MakeUser,
    auth_headers_for: HeadersFor,
    admin_headers: dict[str, str],
    trained_models: list[TrainedModel],
) -> None:
    owner, stranger = make_user()[0], make_user()[0]
    training_uri = dataset_uri(owner.id, uuid.uuid4())
    version = register(db_session, trained_models[0], alias=None, training_uri=training_uri)
    db_session.commit()
    body = {"model": version, "instances": [instance()], "comparables": 3, "interval": 0.8}
    refused = _predict(api, auth_headers_for(stranger), **body)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "comparables_forbidden"
    # The price and its range stay theirs to ask for; the rows are the owner's and admins'.
    plain = {k: v for k, v in body.items() if k != "comparables"}
    assert _predict(api, auth_headers_for(stranger), **plain).status_code == 200
    for headers in (auth_headers_for(owner), admin_headers):
        allowed = _predict(api, headers, **body)
        assert allowed.status_code == 200, allowed.text
        assert len(allowed.json()["predictions"][0]["comparables"]) == 3


@pytest.mark.parametrize("count", [0, 11, 2.5, "3", True])
def test_comparables_outside_one_to_ten_answer_422(
    api: TestClient, member_headers: dict[str, str], registered_model: int, count: Any
) -> None:
    response = _predict(api, member_headers, instances=[instance()], comparables=count)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == "comparables"


def test_a_model_trained_before_comparables_answers_409_comparables_unavailable(
    api: TestClient,
    db_session: Session,
    member_headers: dict[str, str],
    trained_models: list[TrainedModel],
) -> None:
    version = register(db_session, _without_comparables(trained_models[0]))
    response = _predict(api, member_headers, instances=[instance()], comparables=3)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "comparables_unavailable"
    assert response.json()["error"]["details"] == {"model_version": version}
