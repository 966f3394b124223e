"""Issue 12, items 1 to 3, replayed at the API: a member touches only what is theirs.

Every refusal happens at submit, before a job exists, and leaves the targeted
objects, the aliases and the served predictions exactly as they were. The
worker's own refusals (a job row that never went through submit) are in
``test_worker_refusals.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.config import get_settings
from api.db.tables.job import Job, JobKind, JobStatus
from api.db.tables.user import User
from api.db.tables.webhook_delivery import WebhookDelivery
from api.jobs import service as jobs_service
from api.jobs.schemas import TrainingResult
from api.ownership import output_prefix
from api.storage import get_store
from tests.fixtures.db import HeadersFor, MakeUser
from tests.security.tenants import (
    StoredModel,
    aliases,
    csv_bytes,
    jobs_of,
    sha256_of,
    store_model,
    upload,
)

FAST = {"n_estimators": 10, "max_depth": 3}
HOME = {
    "type": "departamento",
    "sector": "las condes",
    "net_usable_area": 80.0,
    "net_area": 90.0,
    "n_rooms": 2.0,
    "n_bathroom": 2.0,
    "latitude": -33.41,
    "longitude": -70.56,
}


class Tenants:
    """Two members, A and B, and an admin, each with a dataset; a model in production."""

    def __init__(
        self, client: TestClient, make_user: MakeUser, headers_for: HeadersFor, model: StoredModel
    ) -> None:
        self.client = client
        self.a: User = make_user(role="member")[0]
        self.b: User = make_user(role="member")[0]
        self.admin: User = make_user(role="admin")[0]
        self.a_headers = headers_for(self.a)
        self.b_headers = headers_for(self.b)
        self.admin_headers = headers_for(self.admin)
        self.a_data = upload(client, self.a_headers, seed=1)
        self.b_data = upload(client, self.b_headers, seed=2)
        self.model = model

    def batch(self, headers: dict[str, str], **body: Any) -> Any:
        return self.client.post("/v1/jobs/batch-inference", json=body, headers=headers)

    def training(self, headers: dict[str, str], **body: Any) -> Any:
        body.setdefault("params", FAST)
        return self.client.post("/v1/jobs/training", json=body, headers=headers)


@pytest.fixture
def tenants(
    client: TestClient,
    db_session: Session,
    make_user: MakeUser,
    auth_headers_for: HeadersFor,
    tiny_artifact: bytes,
) -> Tenants:
    return Tenants(client, make_user, auth_headers_for, store_model(db_session, tiny_artifact))


def assert_refused(answer: Any, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code


# Item 1: any object could be overwritten, then deleted.


def test_batch_output_over_another_members_dataset_is_refused_and_the_dataset_is_unchanged(
    tenants: Tenants, db_session: Session
) -> None:
    target = tenants.a_data
    answer = tenants.batch(
        tenants.b_headers, input_data=tenants.b_data["uri"], output_data=target["uri"]
    )
    assert_refused(answer, 403, "access_denied")
    assert "outputs/" in answer.json()["error"]["message"]  # says where B may write instead
    assert sha256_of(target["uri"]) == target["sha256"]
    assert jobs_of(db_session) == []


def test_batch_output_over_a_model_artifact_is_refused_and_the_model_still_serves(
    tenants: Tenants, db_session: Session
) -> None:
    before = sha256_of(tenants.model.artifact_uri)
    answer = tenants.batch(
        tenants.b_headers, input_data=tenants.b_data["uri"], output_data=tenants.model.artifact_uri
    )
    assert_refused(answer, 403, "access_denied")
    assert sha256_of(tenants.model.artifact_uri) == before
    predicted = tenants.client.post(
        "/v1/predictions", json={"instances": [HOME]}, headers=tenants.b_headers
    )
    assert predicted.status_code == 200, predicted.text
    assert jobs_of(db_session) == []


@pytest.mark.parametrize(
    "output",
    [
        "s3://not-listed-bucket/out.csv",  # a bucket the operator did not list
        "s3://tasador/exports/out.csv",  # the service bucket outside B's prefix
        "s3://tasador/datasets/{b}/mine.csv",  # B's own uploads are read-only
        "s3://tasador/outputs/{a}/theirs.csv",  # A's outputs
    ],
)
def test_batch_output_outside_the_members_own_output_prefix_is_refused(
    tenants: Tenants, db_session: Session, output: str
) -> None:
    output = output.format(a=tenants.a.id, b=tenants.b.id)
    answer = tenants.batch(tenants.b_headers, input_data=tenants.b_data["uri"], output_data=output)
    assert_refused(answer, 403, "access_denied")
    if output.startswith("s3://tasador/"):
        assert not get_store().exists(output)
    assert jobs_of(db_session) == []


def test_an_output_that_exists_answers_409_for_members_and_admins_alike(
    tenants: Tenants, db_session: Session
) -> None:
    mine = f"{output_prefix(tenants.b.id)}report.csv"
    get_store().put_bytes(mine, b"keep me\n")
    errors_exist = f"{output_prefix(tenants.b.id)}other.csv"
    get_store().put_bytes(f"{output_prefix(tenants.b.id)}other.errors.csv", b"keep me too\n")
    for output in (mine, errors_exist):
        answer = tenants.batch(
            tenants.b_headers, input_data=tenants.b_data["uri"], output_data=output
        )
        assert_refused(answer, 409, "output_exists")
    # An admin may write anywhere, but never over an existing object.
    answer = tenants.batch(
        tenants.admin_headers, input_data=tenants.b_data["uri"], output_data=tenants.a_data["uri"]
    )
    assert_refused(answer, 409, "output_exists")
    assert get_store().get_bytes(mine) == b"keep me\n"
    assert sha256_of(tenants.a_data["uri"]) == tenants.a_data["sha256"]
    assert jobs_of(db_session) == []


def test_a_new_output_under_the_members_prefix_or_none_at_all_is_accepted(
    tenants: Tenants,
) -> None:
    named = f"{output_prefix(tenants.b.id)}fresh/predictions.csv"
    for body in ({"output_data": named}, {}):
        answer = tenants.batch(tenants.b_headers, input_data=tenants.b_data["uri"], **body)
        assert answer.status_code == 202, answer.text


def test_a_retried_submit_answers_its_first_job_even_once_its_output_exists(
    tenants: Tenants,
) -> None:
    output = f"{output_prefix(tenants.b.id)}retried.csv"
    headers = {**tenants.b_headers, "Idempotency-Key": "batch-once"}
    first = tenants.batch(headers, input_data=tenants.b_data["uri"], output_data=output)
    assert first.status_code == 202, first.text
    get_store().put_bytes(output, b"the first job's predictions\n")  # it ran meanwhile
    again = tenants.batch(headers, input_data=tenants.b_data["uri"], output_data=output)
    assert again.status_code == 202, again.text
    assert again.json()["id"] == first.json()["id"]


# Item 2: a member could replace the shared production model.


@pytest.mark.parametrize("promote", ["always", "if_better"])
def test_a_member_asking_to_promote_is_refused_and_production_keeps_answering_the_same(
    tenants: Tenants, db_session: Session, promote: str
) -> None:
    def served() -> Any:
        answer = tenants.client.post(
            "/v1/predictions", json={"instances": [HOME]}, headers=tenants.a_headers
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    aliases_before, served_before = aliases(db_session), served()
    answer = tenants.training(tenants.a_headers, train_data=tenants.a_data["uri"], promote=promote)
    assert_refused(answer, 403, "forbidden")
    assert "admin" in answer.json()["error"]["message"]
    assert jobs_of(db_session) == []
    assert aliases(db_session) == aliases_before
    assert served() == served_before


def test_promotion_defaults_to_never_for_members_and_if_better_for_admins(
    tenants: Tenants,
) -> None:
    member = tenants.training(tenants.a_headers, train_data=tenants.a_data["uri"])
    admin = tenants.training(tenants.admin_headers, train_data=tenants.a_data["uri"])
    explicit = tenants.training(
        tenants.a_headers, train_data=tenants.a_data["uri"], promote="never"
    )
    assert [r.status_code for r in (member, admin, explicit)] == [202, 202, 202]
    assert member.json()["request"]["promote"] == "never"
    assert explicit.json()["request"]["promote"] == "never"
    assert admin.json()["request"]["promote"] == "if_better"


# Item 3: inputs were not checked for ownership.


def test_training_on_another_members_dataset_answers_404_like_a_missing_object(
    tenants: Tenants, db_session: Session
) -> None:
    theirs = tenants.a_data["uri"]
    missing = f"s3://tasador/datasets/{tenants.b.id}/no-such-dataset.csv"
    refused = tenants.training(tenants.b_headers, train_data=theirs)
    absent = tenants.training(tenants.b_headers, train_data=missing)
    assert_refused(refused, 404, "data_not_found")
    assert_refused(absent, 404, "data_not_found")
    # Word for word the same answer, apart from the URI asked for.
    assert refused.text.replace(theirs, "<uri>") == absent.text.replace(missing, "<uri>")
    also = tenants.training(tenants.b_headers, train_data=tenants.b_data["uri"], test_data=theirs)
    assert_refused(also, 404, "data_not_found")
    batch = tenants.batch(tenants.b_headers, input_data=theirs)
    assert_refused(batch, 404, "data_not_found")
    assert jobs_of(db_session) == []


def test_reading_a_model_artifact_or_an_unlisted_bucket_is_refused(
    tenants: Tenants, db_session: Session
) -> None:
    for uri in (tenants.model.artifact_uri, "s3://not-listed-bucket/prices.csv"):
        assert_refused(tenants.training(tenants.b_headers, train_data=uri), 403, "access_denied")
    assert jobs_of(db_session) == []


def test_an_admin_may_train_on_any_members_data(tenants: Tenants) -> None:
    answer = tenants.training(tenants.admin_headers, train_data=tenants.a_data["uri"])
    assert answer.status_code == 202, answer.text


def test_a_readable_bucket_is_readable_by_members_but_not_writable(
    tenants: Tenants, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = get_store()
    store.ensure_bucket("shared-prices")
    shared = "s3://shared-prices/2024.csv"
    store.put_bytes(shared, csv_bytes(seed=5))
    unlisted = tenants.training(tenants.b_headers, train_data=shared)
    assert_refused(unlisted, 403, "access_denied")
    monkeypatch.setenv("TASADOR_READABLE_BUCKETS", '["shared-prices"]')
    get_settings.cache_clear()
    try:
        assert tenants.training(tenants.b_headers, train_data=shared).status_code == 202
        answer = tenants.batch(
            tenants.b_headers, input_data=shared, output_data="s3://shared-prices/out.csv"
        )
        assert_refused(answer, 403, "access_denied")
        assert not store.exists("s3://shared-prices/out.csv")
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_members_see_no_artifact_uri_and_training_uris_only_for_their_own_data(
    tenants: Tenants, db_session: Session, tiny_artifact: bytes
) -> None:
    on_a = store_model(db_session, tiny_artifact, training_uri=tenants.a_data["uri"], alias=None)

    def seen(headers: dict[str, str]) -> dict[str, Any]:
        listed = tenants.client.get("/v1/models", headers=headers)
        one = tenants.client.get(f"/v1/models/{on_a.version}", headers=headers)
        assert listed.status_code == one.status_code == 200
        [row] = [m for m in listed.json() if m["version"] == on_a.version]
        assert row == one.json()
        return dict(row)

    by_b, by_a = seen(tenants.b_headers), seen(tenants.a_headers)
    by_admin = seen(tenants.admin_headers)
    assert by_b["training_data"]["uri"] is None
    assert by_b["artifact_uri"] is None
    assert by_a["training_data"]["uri"] == tenants.a_data["uri"]
    assert by_a["artifact_uri"] is None
    assert by_admin["training_data"]["uri"] == tenants.a_data["uri"]
    assert by_admin["artifact_uri"] == on_a.artifact_uri
    # Nothing else in the answers gives the locations away, for any version.
    for headers in (tenants.a_headers, tenants.b_headers):
        listing = tenants.client.get("/v1/models", headers=headers).text
        assert "/models/" not in listing
    assert (
        tenants.a_data["uri"]
        not in tenants.client.get("/v1/models", headers=tenants.b_headers).text
    )


def test_a_members_job_result_and_webhook_show_no_artifact_uri(
    tenants: Tenants, db_session: Session
) -> None:
    job = Job(
        owner_id=tenants.a.id,
        kind=JobKind.TRAINING,
        status=JobStatus.RUNNING,
        request={"train_data": tenants.a_data["uri"]},
        inputs={},
        callback_url="https://hooks.example.com/tasador",
    )
    db_session.add(job)
    db_session.flush()
    result = TrainingResult(
        model_version=tenants.model.version, artifact_uri=tenants.model.artifact_uri
    )
    jobs_service.finish(db_session, job, JobStatus.SUCCEEDED, result=result)
    db_session.commit()

    as_owner = tenants.client.get(f"/v1/jobs/{job.id}", headers=tenants.a_headers).json()
    as_admin = tenants.client.get(f"/v1/jobs/{job.id}", headers=tenants.admin_headers).json()
    listed = tenants.client.get("/v1/jobs", headers=tenants.a_headers).json()["items"]
    assert as_owner["result"]["artifact_uri"] is None
    assert [item["result"]["artifact_uri"] for item in listed] == [None]
    assert as_admin["result"]["artifact_uri"] == tenants.model.artifact_uri
    [delivery] = tenants.client.get(
        f"/v1/jobs/{job.id}/deliveries", headers=tenants.a_headers
    ).json()["items"]
    sent = db_session.get(WebhookDelivery, delivery["id"])
    assert sent is not None
    assert sent.payload["data"]["result"]["artifact_uri"] is None
    assert sent.payload["data"]["result"]["model_version"] == tenants.model.version
