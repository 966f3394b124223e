"""The /ui pages without a browser: sign-in, what each page shows, and to whom."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.auth.cache import DEFAULT_TTL_SECONDS as CACHE_SECONDS
from api.auth.tokens import issue_access_token
from api.config import get_settings
from api.db.base import utcnow
from api.db.tables.job import Job, JobKind, JobStatus
from api.db.tables.user import User
from api.db.tables.webhook_delivery import DeliveryStatus, WebhookAttempt, WebhookDelivery
from api.ml import artifact as artifacts
from api.ownership import dataset_uri
from api.storage import get_store
from api.ui import session as ui_session
from api.ui.predict_page import EXAMPLE
from api.users.service import set_password
from tests.fixtures.db import TEST_PASSWORD, MakeUser
from tests.ui.conftest import CSRF, Page, PageFor


def _sign_in(
    client: TestClient, username: str, password: str, next_path: str = ""
) -> httpx.Response:
    form_page = client.get("/ui/login")
    assert form_page.status_code == 200
    nonce = CSRF.search(form_page.text)
    assert nonce is not None
    form = {"username": username, "password": password, "csrf": nonce.group(1), "next": next_path}
    answer: httpx.Response = client.post("/ui/login", data=form, follow_redirects=False)
    return answer


def _job(session: Session, owner: User, status: str = JobStatus.QUEUED, **extra: object) -> Job:
    job = Job(
        owner_id=owner.id,
        kind=extra.pop("kind", JobKind.TRAINING),
        status=status,
        request={"train_data": dataset_uri(owner.id, uuid.uuid4())},
        inputs={},
        **extra,
    )
    session.add(job)
    session.commit()
    return job


def test_password_sign_in_sets_an_httponly_lax_session_and_opens_the_models_page(
    client: TestClient, make_user: MakeUser
) -> None:
    user, password = make_user(role="member")
    answer = _sign_in(client, user.username, password, next_path="/ui/jobs")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/jobs"
    cookie = answer.headers["set-cookie"]
    assert f"{ui_session.COOKIE_NAME}=" in cookie
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert client.get("/ui/jobs", follow_redirects=False).status_code == 200


def test_wrong_password_shows_the_form_again_with_one_message(
    client: TestClient, make_user: MakeUser
) -> None:
    user, _ = make_user()
    answer = _sign_in(client, user.username, "not the password")
    assert answer.status_code == 401
    assert "Wrong username or password" in answer.text
    assert ui_session.COOKIE_NAME not in answer.headers.get("set-cookie", "")


def test_a_login_post_without_the_forms_own_token_is_refused(
    client: TestClient, make_user: MakeUser
) -> None:
    user, password = make_user()
    form = {"username": user.username, "password": password, "csrf": "forged"}
    answer = client.post("/ui/login", data=form, follow_redirects=False)
    assert answer.status_code == 403
    assert ui_session.COOKIE_NAME not in answer.headers.get("set-cookie", "")


def test_a_login_link_never_sends_the_user_off_the_site(
    client: TestClient, make_user: MakeUser
) -> None:
    user, password = make_user()
    answer = _sign_in(client, user.username, password, next_path="https://evil.example/")
    assert answer.headers["location"] == "/ui/models"


@pytest.mark.parametrize("path", ["/ui/models", "/ui/jobs", "/ui/predict", "/ui/models/1"])
def test_pages_without_a_session_redirect_to_sign_in(client: TestClient, path: str) -> None:
    answer = client.get(path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/ui/login?next=")


def test_api_credentials_open_no_page(
    client: TestClient, make_user: MakeUser, auth_headers_for: Callable[[User], dict[str, str]]
) -> None:
    user, _ = make_user()
    key = client.post(
        "/v1/api-keys", json={"name": "ui", "expires_in_days": 1}, headers=auth_headers_for(user)
    ).json()["key"]
    access = issue_access_token(user.id, user.role).token
    for headers in (
        auth_headers_for(user),
        {"X-API-Key": key},
        {"Cookie": f"{ui_session.COOKIE_NAME}={access}"},  # an access token is no session
    ):
        assert client.get("/ui/models", headers=headers, follow_redirects=False).status_code == 303


def test_a_disabled_users_session_stops_opening_pages(
    page_for: PageFor, make_user: MakeUser, db_session: Session
) -> None:
    user, _ = make_user()
    page = page_for(user)
    assert page.get("/ui/models").status_code == 200
    user.is_active = False
    db_session.commit()
    time.sleep(CACHE_SECONDS + 0.1)  # the credential cache's entries live this long
    assert page.get("/ui/models").status_code == 303


def test_setting_a_password_ends_the_page_sessions_opened_before_it(
    client: TestClient, make_user: MakeUser, db_session: Session
) -> None:
    user, _ = make_user()
    earlier = Page(client, ui_session.issue(user.id))
    assert earlier.get("/ui/models").status_code == 200
    set_password(db_session, user.username, "a brand new passphrase")
    db_session.commit()
    db_session.refresh(user)
    # Signing in again works at once, though this process cached the old snapshot.
    later = Page(client, ui_session.issue(user.id, generation=user.credentials_generation))
    assert later.get("/ui/models").status_code == 200
    time.sleep(CACHE_SECONDS + 0.1)
    assert earlier.get("/ui/models").status_code == 303  # back to the sign-in page


def test_sign_out_needs_the_csrf_token_and_clears_the_cookie(
    page_for: PageFor, make_user: MakeUser
) -> None:
    page = page_for(make_user()[0])
    assert page.post("/ui/logout", {"csrf": "wrong"}).status_code == 403
    answer = page.post("/ui/logout", {"csrf": page.csrf})
    assert answer.status_code == 303
    assert f'{ui_session.COOKIE_NAME}=""' in answer.headers["set-cookie"]


def test_models_table_marks_production_and_sorts_by_a_metric(
    page_for: PageFor, make_user: MakeUser, charted_version: Callable[..., int]
) -> None:
    worse = charted_version(rmse=2000.0)
    better = charted_version(rmse=1000.0, alias="production")
    page = page_for(make_user()[0])
    table = page.get("/ui/models?sort=rmse&order=asc").text
    assert table.index(f">v{better}<") < table.index(f">v{worse}<")
    assert 'class="production"' in table and "1,000" in table and "2,000" in table
    table = page.get("/ui/models?sort=rmse&order=desc").text
    assert table.index(f">v{worse}<") < table.index(f">v{better}<")


def test_version_page_shows_metrics_lineage_and_charts_that_load(
    page_for: PageFor, make_user: MakeUser, charted_version: Callable[..., int]
) -> None:
    member = make_user()[0]
    own = dataset_uri(member.id, uuid.uuid4())
    version = charted_version(training_uri=own)
    page = page_for(member)
    body = page.get(f"/ui/models/{version}").text
    assert "900" in body and "8.0%" in body and "58.0%" in body
    assert "ab" * 32 in body and own in body
    for name in ("predicted_vs_actual", "error_by_sector", "error_by_price_band"):
        assert f"/ui/models/{version}/charts/{name}.svg" in body
        chart = page.get(f"/ui/models/{version}/charts/{name}.svg")
        assert chart.status_code == 200
        assert chart.headers["content-type"] == "image/svg+xml"
        assert chart.content.lstrip().startswith(b"<?xml") and b"<svg" in chart.content


def test_a_member_sees_no_other_members_training_data_on_a_version_page(
    page_for: PageFor, make_user: MakeUser, charted_version: Callable[..., int]
) -> None:
    owner, other = make_user()[0], make_user()[0]
    theirs = dataset_uri(owner.id, uuid.uuid4())
    version = charted_version(training_uri=theirs)
    assert theirs not in page_for(other).get(f"/ui/models/{version}").text
    assert theirs in page_for(owner).get(f"/ui/models/{version}").text


def test_missing_versions_and_charts_answer_a_404_page(
    page_for: PageFor, make_user: MakeUser, charted_version: Callable[..., int]
) -> None:
    page = page_for(make_user()[0])
    version = charted_version()
    for path in (
        "/ui/models/2147483647",
        f"/ui/models/{version}/charts/nothing.svg",
        "/ui/models/compare?a=2147483647&b=1",
    ):
        answer = page.get(path)
        assert answer.status_code == 404
        assert answer.headers["content-type"].startswith("text/html")
    assert page.get("/ui/models/99999999999999999999").status_code == 422


def test_compare_page_puts_each_metric_and_chart_of_two_versions_side_by_side(
    page_for: PageFor, make_user: MakeUser, charted_version: Callable[..., int]
) -> None:
    a, b = charted_version(rmse=1500.0), charted_version(rmse=1200.0)
    body = page_for(make_user()[0]).get(f"/ui/models/compare?a={a}&b={b}").text
    assert "1,500" in body and "1,200" in body
    assert f"<td>v{b}</td>" in body  # the lower RMSE is the better one
    for version in (a, b):
        assert f"/ui/models/{version}/charts/feature_importance.svg" in body


def test_a_member_lists_and_opens_only_their_own_jobs(
    page_for: PageFor, make_user: MakeUser, db_session: Session
) -> None:
    a, b = make_user()[0], make_user()[0]
    admin = make_user(role="admin")[0]
    mine, theirs = _job(db_session, a), _job(db_session, b)
    listing = page_for(a).get("/ui/jobs").text
    assert str(mine.id)[:8] in listing and str(theirs.id)[:8] not in listing
    assert page_for(a).get(f"/ui/jobs/{theirs.id}").status_code == 404
    assert page_for(a).get(f"/ui/jobs/{theirs.id}/state").status_code == 404
    assert page_for(a).get(f"/ui/jobs/{mine.id}").status_code == 200
    assert str(theirs.id)[:8] in page_for(admin).get("/ui/jobs").text


def test_jobs_are_filtered_by_kind_and_status(
    page_for: PageFor, make_user: MakeUser, db_session: Session
) -> None:
    user = make_user()[0]
    queued = _job(db_session, user)
    failed = _job(
        db_session,
        user,
        JobStatus.FAILED,
        error={"code": "output_exists", "message": "s3://x exists"},
    )
    body = page_for(user).get("/ui/jobs?status=failed&kind=training").text
    assert str(failed.id)[:8] in body and str(queued.id)[:8] not in body
    page = page_for(user).get(f"/ui/jobs/{failed.id}").text
    assert "output_exists" in page and "Choose an output_data location" in page


def test_the_job_state_the_page_polls_is_status_progress_and_whether_it_ended(
    page_for: PageFor, make_user: MakeUser, db_session: Session
) -> None:
    user = make_user()[0]
    job = _job(db_session, user, JobStatus.QUEUED)
    state = page_for(user).get(f"/ui/jobs/{job.id}/state").json()
    assert state["status"] == "queued" and state["progress"] == 0 and state["finished"] is False
    page = page_for(user).get(f"/ui/jobs/{job.id}").text
    assert f'data-state-url="/ui/jobs/{job.id}/state"' in page and "/ui/static/job.js" in page


def test_a_finished_training_jobs_page_links_the_version_it_trained(
    page_for: PageFor, make_user: MakeUser, db_session: Session
) -> None:
    user = make_user()[0]
    job = _job(db_session, user, JobStatus.SUCCEEDED, result={"model_version": 7})
    page = page_for(user).get(f"/ui/jobs/{job.id}").text
    assert 'href="/ui/models/7"' in page and "trained by this job" in page
    assert 'data-finished="true"' in page  # nothing left to poll


def test_a_succeeded_batch_jobs_page_links_its_files_and_they_download(
    page_for: PageFor, make_user: MakeUser, db_session: Session
) -> None:
    user = make_user()[0]
    output_uri = dataset_uri(user.id, uuid.uuid4())
    get_store().put_bytes(output_uri, b"type,price_pred\ncasa,123.0\n")
    job = _job(
        db_session,
        user,
        JobStatus.SUCCEEDED,
        kind=JobKind.BATCH_INFERENCE,
        result={"output_data": output_uri, "rows": 1},
    )
    pages = page_for(user)
    page = pages.get(f"/ui/jobs/{job.id}").text
    assert f'href="/ui/jobs/{job.id}/download/output"' in page
    assert "/download/errors" not in page  # every row was valid: no errors file
    got = pages.get(f"/ui/jobs/{job.id}/download/output")
    assert got.status_code == 200 and got.content == b"type,price_pred\ncasa,123.0\n"
    assert pages.get(f"/ui/jobs/{job.id}/download/errors").status_code == 404


def test_text_from_requests_and_errors_is_escaped_on_pages(
    page_for: PageFor, make_user: MakeUser, db_session: Session
) -> None:
    user = make_user()[0]
    script = "<script>alert(1)</script>"
    job = _job(db_session, user, JobStatus.FAILED, error={"code": "x", "message": script})
    page = page_for(user).get(f"/ui/jobs/{job.id}").text
    assert script not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_job_page_lists_its_webhook_deliveries_with_every_attempt(
    page_for: PageFor, make_user: MakeUser, db_session: Session
) -> None:
    user = make_user()[0]
    job = _job(db_session, user, JobStatus.SUCCEEDED, result={"model_version": 1})
    delivery = WebhookDelivery(
        id=f"msg_{uuid.uuid4().hex}",
        job_id=job.id,
        owner_id=user.id,
        event="job.succeeded",
        url="https://hooks.example.com/tasador",
        payload={},
        status=DeliveryStatus.DELIVERED,
        attempts=2,
        attempt_limit=5,
    )
    db_session.add(delivery)
    db_session.flush()
    for attempt, code, error in ((1, None, "connection refused"), (2, 204, None)):
        db_session.add(
            WebhookAttempt(
                delivery_id=delivery.id,
                attempt=attempt,
                started_at=utcnow(),
                status_code=code,
                error=error,
                duration_ms=12,
            )
        )
    db_session.commit()
    page = page_for(user).get(f"/ui/jobs/{job.id}").text
    assert "https://hooks.example.com/tasador" in page and "delivered" in page
    assert "connection refused" in page and ": 204 (12 ms)" in page


def test_the_jobs_list_follows_only_jobs_that_have_not_ended(
    page_for: PageFor, make_user: MakeUser, db_session: Session
) -> None:
    user = make_user()[0]
    running = _job(db_session, user, JobStatus.RUNNING, started_at=utcnow(), progress=0.4)
    ended = _job(db_session, user, JobStatus.SUCCEEDED, result={"model_version": 1})
    body = page_for(user).get("/ui/jobs").text
    assert f'data-state-url="/ui/jobs/{running.id}/state"' in body
    assert f'data-state-url="/ui/jobs/{ended.id}/state"' not in body
    assert "40%" in body and "/ui/static/jobs.js" in body


def test_pages_may_not_be_framed_and_load_nothing_from_elsewhere(
    page_for: PageFor, make_user: MakeUser
) -> None:
    page = page_for(make_user()[0]).get("/ui/models")
    assert page.status_code == 200
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"


def test_static_files_are_served_by_the_service(client: TestClient) -> None:
    for path in ("/ui/static/tasador.css", "/ui/static/job.js", "/ui/static/jobs.js"):
        assert client.get(path).status_code == 200


def test_the_prediction_form_answers_with_a_price(
    page_for: PageFor, make_user: MakeUser, charted_version: Callable[..., int]
) -> None:
    user = make_user()[0]
    # Trained on the user's own dataset: its comparables are theirs to see.
    version = charted_version(training_uri=dataset_uri(user.id, uuid.uuid4()))
    page = page_for(user)
    form = page.get("/ui/predict").text
    assert 'name="net_usable_area"' in form and 'name="longitude"' in form
    fields = {"csrf": page.csrf, "model": str(version), **EXAMPLE}
    answer = page.post("/ui/predict", fields)
    assert answer.status_code == 200, answer.text
    assert 'id="price"' in answer.text and f"model v{version}" in answer.text
    # The form asks for an 80 % range and five comparables unless told otherwise.
    assert "80% range" in answer.text and answer.text.count("<tr><td>") == 5
    plain = page.post("/ui/predict", {**fields, "interval": "none"}).text
    assert 'id="price"' in plain and 'id="range"' not in plain and 'id="comparables"' not in plain
    bad = page.post("/ui/predict", {**fields, "net_area": "a lot"})
    assert bad.status_code == 422 and "net_area" in bad.text
    assert page.post("/ui/predict", {**fields, "csrf": ""}).status_code == 403


def test_the_form_answers_a_model_without_ranges_with_its_price_and_says_why(
    page_for: PageFor,
    make_user: MakeUser,
    charted_version: Callable[..., int],
    tiny_artifact: bytes,
) -> None:
    key = get_settings().secret_key.get_secret_value().encode()
    older = artifacts.from_bytes(tiny_artifact, key)
    older.extra = {k: v for k, v in older.extra.items() if k != "intervals"}
    older.comparables = None
    version = charted_version(artifact=artifacts.to_bytes(older, key))
    page = page_for(make_user()[0])
    fields = {"csrf": page.csrf, "model": str(version), "interval": "0.9"}
    answer = page.post("/ui/predict", {**EXAMPLE, **fields})
    assert answer.status_code == 200, answer.text
    assert 'id="price"' in answer.text and 'id="range"' not in answer.text
    assert "trained before price ranges" in answer.text


def test_sign_in_with_the_real_password_is_the_users_password(
    client: TestClient, make_user: MakeUser
) -> None:
    user, _ = make_user()
    assert _sign_in(client, user.username, TEST_PASSWORD).status_code == 303
