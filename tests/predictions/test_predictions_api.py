"""POST /v1/predictions and GET /v1/ping over the real database and object store."""

from __future__ import annotations

import numpy as np
from fastapi.testclient import TestClient

from api.ml.schema import FEATURES
from api.ml.synth import generate
from api.ml.validation import validate_frame
from tests.predictions.conftest import RegisterModel, TrainedModel, instance


def test_predictions_match_the_scikit_learn_pipeline(
    api: TestClient,
    member_headers: dict[str, str],
    registered_model: int,
    trained_models: list[TrainedModel],
) -> None:
    frame = validate_frame(generate(300, seed=77), require_target=False).frame[FEATURES]
    frame.loc[frame.index[0], "sector"] = "a sector never seen"
    instances = frame.to_dict(orient="records")
    response = api.post("/v1/predictions", json={"instances": instances}, headers=member_headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_version"] == registered_model
    served = np.array([p["price"] for p in body["predictions"]])
    expected = trained_models[0].estimator.predict(frame)
    np.testing.assert_allclose(served, expected, rtol=1e-6)


def test_unknown_sector_is_valued_and_type_is_normalised(
    api: TestClient, member_headers: dict[str, str], registered_model: int
) -> None:
    response = api.post(
        "/v1/predictions",
        json={"instances": [instance(type=" DEPARTAMENTO", sector="Atlantis")]},
        headers=member_headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["predictions"][0]["price"] > 0


def test_the_answer_names_the_version_asked_for_by_number_or_alias(
    api: TestClient, member_headers: dict[str, str], register_model: RegisterModel
) -> None:
    first = register_model(0, alias="production")
    second = register_model(1, alias="staging")
    by_alias = api.post(
        "/v1/predictions",
        json={"model": "staging", "instances": [instance()]},
        headers=member_headers,
    )
    by_number = api.post(
        "/v1/predictions", json={"model": first, "instances": [instance()]}, headers=member_headers
    )
    by_default = api.post(
        "/v1/predictions", json={"instances": [instance()]}, headers=member_headers
    )
    assert by_alias.json()["model_version"] == second
    assert by_number.json()["model_version"] == first
    assert by_default.json()["model_version"] == first
    assert by_alias.json()["predictions"] != by_number.json()["predictions"]


def test_a_bad_instance_answers_422_naming_index_and_field(
    api: TestClient, member_headers: dict[str, str], registered_model: int
) -> None:
    instances = [instance(), instance(), instance(), instance(net_area=-5)]
    response = api.post("/v1/predictions", json={"instances": instances}, headers=member_headers)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_instances"
    assert error["message"] == "instances[3].net_area: must be >= 0"
    assert error["details"] == [{"index": 3, "field": "net_area", "reason": "must be >= 0"}]


def test_without_a_production_model_the_answer_is_409_no_model(
    api: TestClient, member_headers: dict[str, str]
) -> None:
    response = api.post("/v1/predictions", json={"instances": [instance()]}, headers=member_headers)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_model"


def test_with_versions_but_no_production_alias_the_answer_says_so(
    api: TestClient, member_headers: dict[str, str], register_model: RegisterModel
) -> None:
    register_model(0, alias=None)
    response = api.post("/v1/predictions", json={"instances": [instance()]}, headers=member_headers)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "no_model"
    assert "versions exist" in error["message"] and "train one" not in error["message"]


def test_unknown_version_and_unknown_alias_answer_404(
    api: TestClient, member_headers: dict[str, str], registered_model: int
) -> None:
    missing_version = api.post(
        "/v1/predictions",
        json={"model": registered_model + 1000, "instances": [instance()]},
        headers=member_headers,
    )
    out_of_range = api.post(
        "/v1/predictions", json={"model": 10**12, "instances": [instance()]}, headers=member_headers
    )
    missing_alias = api.post(
        "/v1/predictions",
        json={"model": "canary", "instances": [instance()]},
        headers=member_headers,
    )
    assert missing_version.status_code == 404
    assert missing_version.json()["error"]["code"] == "model_not_found"
    assert out_of_range.json()["error"]["code"] == "model_not_found"
    assert missing_alias.status_code == 404
    assert missing_alias.json()["error"]["code"] == "alias_not_found"


def test_predictions_need_authentication(api: TestClient, registered_model: int) -> None:
    response = api.post("/v1/predictions", json={"instances": [instance()]})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_ping_answers_the_caller_id(api: TestClient, member_headers: dict[str, str]) -> None:
    response = api.get("/v1/ping", headers=member_headers)
    assert response.status_code == 200
    me = api.get("/v1/users/me", headers=member_headers).json()
    assert response.json() == {"ok": True, "user_id": me["id"]}
    assert api.get("/v1/ping").status_code == 401


def test_metrics_report_the_served_model_and_the_prediction_log(
    api: TestClient, member_headers: dict[str, str], registered_model: int
) -> None:
    response = api.post(
        "/v1/predictions", json={"instances": [instance()] * 3}, headers=member_headers
    )
    assert response.status_code == 200
    metrics = api.get("/metrics").text
    assert f'tasador_predictions_total{{model_version="{registered_model}"}}' in metrics
    assert "tasador_model_cache_size 1.0" in metrics
    assert "tasador_prediction_log_dropped_rows_total 0.0" in metrics
