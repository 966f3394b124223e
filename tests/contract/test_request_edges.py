"""Requests at the edges of the contract: each answered as the document says."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/v1/api-keys", "GET, POST"),
        ("/v1/models/aliases/staging", "DELETE, PUT"),
        ("/v1/jobs", "GET"),
    ],
)
def test_options_lists_every_method_of_the_path(
    client: TestClient, path: str, allowed: str
) -> None:
    answer = client.options(path)
    assert answer.status_code == 405
    assert answer.headers["allow"] == allowed
    assert answer.json()["error"]["code"] == "method_not_allowed"


def test_a_body_that_is_not_utf8_answers_422_like_bad_json(client: TestClient) -> None:
    headers = {"Content-Type": "application/json"}
    not_utf8 = client.post(
        "/v1/auth/refresh", content=b'{"refresh_token": "\xff\xfe"}', headers=headers
    )
    not_json = client.post("/v1/auth/refresh", content=b"{", headers=headers)
    assert not_utf8.status_code == not_json.status_code == 422
    assert not_utf8.json()["error"]["code"] == "validation_error"


def test_a_boolean_is_not_an_integer(client: TestClient, member_headers: dict[str, str]) -> None:
    answer = client.post(
        "/v1/api-keys", json={"name": "ci", "expires_in_days": True}, headers=member_headers
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["loc"] == ["body", "expires_in_days"]


def test_a_number_is_not_a_date_time(client: TestClient, admin_headers: dict[str, str]) -> None:
    answer = client.get("/v1/predictions/log?since=1700000000", headers=admin_headers)
    assert answer.status_code == 422
    assert "ISO 8601" in answer.json()["error"]["message"]


def test_an_alias_outside_the_pattern_answers_422(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    answer = client.put(
        "/v1/models/aliases/Not_An_Alias", json={"version": 1}, headers=admin_headers
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "validation_error"
