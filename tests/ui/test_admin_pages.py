"""Admin pages: users and keys, alias moves only after a confirmation, the audit trail."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.registry import service as registry_service
from tests.fixtures.db import HeadersFor, MakeUser
from tests.ui.conftest import PageFor


def test_admins_see_every_user_and_every_api_key_without_its_secret(
    client: TestClient, page_for: PageFor, make_user: MakeUser, auth_headers_for: HeadersFor
) -> None:
    member = make_user()[0]
    created = client.post(
        "/v1/api-keys",
        json={"name": "nightly", "expires_in_days": 5},
        headers=auth_headers_for(member),
    ).json()
    body = page_for(make_user(role="admin")[0]).get("/ui/admin/users").text
    assert member.username in body and "nightly" in body and created["prefix"] in body
    assert created["key"] not in body


def test_members_get_a_403_page_from_admin_pages(page_for: PageFor, make_user: MakeUser) -> None:
    page = page_for(make_user()[0])
    for path in ("/ui/admin/users", "/ui/admin/aliases"):
        answer = page.get(path)
        assert answer.status_code == 403
        assert answer.headers["content-type"].startswith("text/html")
    assert (
        page.post(
            "/ui/admin/aliases", {"csrf": page.csrf, "alias": "x", "version": "1"}
        ).status_code
        == 403
    )


def test_an_alias_moves_only_after_the_confirmation_and_the_move_is_in_the_trail(
    page_for: PageFor,
    make_user: MakeUser,
    charted_version: Callable[..., int],
    db_session: Session,
) -> None:
    admin = make_user(role="admin")[0]
    old = charted_version(rmse=2000.0, alias="staging")
    new = charted_version(rmse=1000.0)
    page = page_for(admin)
    form = {"csrf": page.csrf, "alias": "staging", "version": str(new)}

    review = page.post("/ui/admin/aliases", form)
    assert review.status_code == 200
    assert f"v{old} (now)" in review.text and f"v{new} (after)" in review.text
    assert registry_service.resolve(db_session, "staging") == old  # nothing moved yet

    done = page.post("/ui/admin/aliases", {**form, "confirm": "yes"})
    assert done.status_code == 303
    db_session.expire_all()
    assert registry_service.resolve(db_session, "staging") == new
    trail = page.get("/ui/admin/aliases").text
    assert f"<td>v{old}</td>" in trail and f"<td>v{new}</td>" in trail
    assert admin.username in trail


def test_a_move_needs_the_forms_token_and_a_real_version(
    page_for: PageFor, make_user: MakeUser, charted_version: Callable[..., int]
) -> None:
    page = page_for(make_user(role="admin")[0])
    version = charted_version()
    form = {"csrf": page.csrf, "alias": "staging", "version": str(version), "confirm": "yes"}
    assert page.post("/ui/admin/aliases", {**form, "csrf": "forged"}).status_code == 403
    assert page.post("/ui/admin/aliases", {**form, "version": "2147483647"}).status_code == 404
    assert page.post("/ui/admin/aliases", {**form, "alias": "No Spaces"}).status_code == 422
