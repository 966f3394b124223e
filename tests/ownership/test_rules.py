"""The ownership rules on their own: who may read and write which location."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from api.config import get_settings
from api.errors import Forbidden
from api.ownership import (
    LocationDenied,
    Principal,
    Promote,
    Refusal,
    check_read,
    check_write,
    default_output,
    errors_uri,
    load_principal,
    promotion_mode,
    read_refusal,
    visible_uri,
    write_refusal,
)
from api.storage import AccessDenied, InvalidUri, parse_uri
from tests.fixtures.db import MakeUser

ALICE = Principal(user_id=7, is_admin=False)
ADMIN = Principal(user_id=1, is_admin=True)


@pytest.fixture(autouse=True)
def shared_bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Service bucket ``tasador``; ``shared-data`` listed as readable (and, by
    mistake, the service bucket itself, which must not open it)."""
    monkeypatch.setenv("TASADOR_BUCKET", "tasador")
    monkeypatch.setenv("TASADOR_READABLE_BUCKETS", '["shared-data", "tasador"]')
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def reading(principal: Principal, uri: str) -> Refusal | None:
    return read_refusal(principal, parse_uri(uri))


def writing(principal: Principal, uri: str) -> Refusal | None:
    return write_refusal(principal, parse_uri(uri))


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://tasador/datasets/7/a.csv", None),
        ("s3://tasador/outputs/7/job/predictions.csv", None),
        ("s3://shared-data/prices/2024.csv", None),
        ("s3://tasador/datasets/8/a.csv", Refusal.HIDDEN),
        ("s3://tasador/outputs/8/x.csv", Refusal.HIDDEN),
        ("s3://tasador/models/0b5e/model.tsm", Refusal.DENIED),
        ("s3://tasador/tests/a.csv", Refusal.DENIED),
        ("s3://tasador/datasets/007/a.csv", Refusal.DENIED),  # not user 7's
        ("s3://tasador/datasets/7", Refusal.DENIED),  # the prefix itself is no object of theirs
        ("s3://other-bucket/a.csv", Refusal.DENIED),
    ],
)
def test_a_member_reads_own_data_own_outputs_and_readable_buckets_only(
    uri: str, expected: Refusal | None
) -> None:
    assert reading(ALICE, uri) is expected


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://tasador/outputs/7/mine.csv", None),
        ("s3://tasador/outputs/7/deep/er/mine.csv", None),
        ("s3://tasador/datasets/7/a.csv", Refusal.DENIED),  # own uploads are read-only
        ("s3://tasador/outputs/8/x.csv", Refusal.DENIED),  # refused, not hidden: no probing
        ("s3://tasador/datasets/8/a.csv", Refusal.DENIED),
        ("s3://tasador/models/0b5e/model.tsm", Refusal.DENIED),
        ("s3://shared-data/out.csv", Refusal.DENIED),
        ("s3://other-bucket/out.csv", Refusal.DENIED),
    ],
)
def test_a_member_writes_only_under_their_own_output_prefix(
    uri: str, expected: Refusal | None
) -> None:
    assert writing(ALICE, uri) is expected


def test_an_admin_may_use_any_location() -> None:
    for uri in (
        "s3://tasador/datasets/8/a.csv",
        "s3://tasador/models/0b5e/model.tsm",
        "s3://other-bucket/a.csv",
    ):
        assert reading(ADMIN, uri) is None
        assert writing(ADMIN, uri) is None


def test_a_refused_read_names_what_may_be_read_and_looks_the_same_for_hidden_objects() -> None:
    with pytest.raises(LocationDenied) as denied:
        check_read(ALICE, "s3://other-bucket/a.csv", "train_data")
    with pytest.raises(LocationDenied) as hidden:
        check_read(ALICE, "s3://tasador/datasets/8/a.csv", "train_data")
    assert denied.value.status_code == hidden.value.status_code == 403
    assert denied.value.code == hidden.value.code == "access_denied"
    assert (denied.value.hidden, hidden.value.hidden) == (False, True)
    message = denied.value.message
    assert message.startswith("train_data: you may not read s3://other-bucket/a.csv.")
    assert "s3://tasador/outputs/7/" in message and "s3://shared-data/" in message
    # Apart from the URI, a hidden object's refusal reads exactly like any other.
    assert hidden.value.message.replace("tasador/datasets/8/a.csv", "other-bucket/a.csv") == (
        message
    )


def test_a_refused_write_names_the_prefix_to_use_instead() -> None:
    with pytest.raises(LocationDenied) as caught:
        check_write(ALICE, "s3://tasador/models/x/model.tsm", "output_data")
    assert caught.value.code == "access_denied"
    assert "s3://tasador/outputs/7/" in caught.value.message
    assert caught.value.details["writable_prefix"] == "s3://tasador/outputs/7/"


def test_checks_still_validate_the_uri() -> None:
    with pytest.raises(InvalidUri):
        check_read(ADMIN, "s3://tasador/../etc/passwd", "train_data")
    with pytest.raises(InvalidUri):
        check_write(ADMIN, "/etc/passwd", "output_data")


def test_promotion_defaults_by_role_and_only_admins_may_move_production() -> None:
    assert promotion_mode(ALICE, None) is Promote.NEVER
    assert promotion_mode(ADMIN, None) is Promote.IF_BETTER
    assert promotion_mode(ALICE, "never") is Promote.NEVER
    assert promotion_mode(ADMIN, "always") is Promote.ALWAYS
    for asked in ("always", "if_better"):
        with pytest.raises(Forbidden) as caught:
            promotion_mode(ALICE, asked)
        assert caught.value.status_code == 403 and caught.value.code == "forbidden"
        assert "admin" in caught.value.message
    with pytest.raises(ValueError):
        promotion_mode(ADMIN, "sometimes")


def test_responses_show_a_member_only_locations_they_may_read() -> None:
    assert visible_uri(ALICE, "s3://tasador/datasets/7/a.csv") == "s3://tasador/datasets/7/a.csv"
    assert visible_uri(ALICE, "s3://shared-data/a.csv") == "s3://shared-data/a.csv"
    assert visible_uri(ALICE, "s3://tasador/datasets/8/a.csv") is None
    assert visible_uri(ALICE, "s3://tasador/models/x/model.tsm") is None
    assert visible_uri(ALICE, "not a uri") is None
    assert (
        visible_uri(ADMIN, "s3://tasador/models/x/model.tsm") == "s3://tasador/models/x/model.tsm"
    )


def test_the_default_output_is_under_the_owners_prefix_and_named_after_the_job() -> None:
    job_id = uuid.uuid4()
    output = default_output(7, job_id)
    assert output == f"s3://tasador/outputs/7/{job_id}/predictions.csv"
    assert errors_uri(output) == f"s3://tasador/outputs/7/{job_id}/predictions.errors.csv"
    assert writing(ALICE, output) is None and writing(ALICE, errors_uri(output)) is None
    assert errors_uri("s3://b/out") == "s3://b/out.errors.csv"


def test_the_worker_uses_the_owners_current_role(db_session: Session, make_user: MakeUser) -> None:
    admin, _ = make_user(role="admin")
    assert load_principal(db_session, admin.id) == Principal(admin.id, is_admin=True)
    admin.role = "member"  # demoted after submitting
    assert load_principal(db_session, admin.id).is_admin is False
    admin.role, admin.is_active = "admin", False  # a disabled admin keeps no admin powers
    assert load_principal(db_session, admin.id).is_admin is False
    with pytest.raises(AccessDenied):
        load_principal(db_session, 10**9)
