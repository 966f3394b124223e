"""Who may call what: every route of the app, for every kind of caller.

``MATRIX`` has one row per (method, path) the application serves, read from
``app.routes``; a route added without a row, or a row left behind by a removed
route, fails ``test_every_route_has_a_row``. Each row is called by four
principals (anonymous, member A, member B, admin) on two objects: the caller's
own and someone else's (A's for B and the admin, B's for A; anonymous has
none, so it tries A's and B's). Routes without an object make both calls alike.

An expected answer is a status, or ``SHOWS``/``HIDES``: ``200`` with the object
(its id, or for models the training data's URI) present in, or absent from,
the body. Objects are made fresh for every call, so a call that changes or
deletes one never decides the next call's answer.

Pages under ``/ui`` are called with the caller's session cookie instead of a
bearer token (and the session's CSRF token in their forms); without a session
they redirect to the login form (``303``), and their refusals are pages.

Size: 56 (method, path) pairs x 4 principals x 2 objects = 448 calls.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.db.base import utcnow
from api.db.tables.dataset import Dataset
from api.db.tables.job import Job, JobKind, JobStatus
from api.db.tables.user import User
from api.jobs import state
from api.main import create_app
from api.ml.charts import FEATURE_IMPORTANCE, render_charts
from api.ownership import dataset_uri
from api.registry import service as registry_service
from api.registry.artifacts import chart_uri
from api.storage import get_store
from api.ui import session as ui_session
from api.ui.session import LOGIN_CSRF_COOKIE
from tests.fixtures.db import TEST_PASSWORD, HeadersFor, MakeUser
from tests.security.tenants import StoredModel, csv_bytes, store_model
from tests.ui.conftest import chart_frame


@dataclass(frozen=True)
class Sees:
    """``200``, and the object shows in the answer (or, ``shown=False``, does not)."""

    shown: bool
    status: int = 200


SHOWS, HIDES = Sees(shown=True), Sees(shown=False)
Expected = int | Sees


@dataclass
class Call:
    path: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    probe: str | None = None  # what SHOWS/HIDES look for in the body


class World:
    """Members A and B and an admin, and factories for objects any of them owns."""

    def __init__(
        self,
        client: TestClient,
        session: Session,
        make_user: MakeUser,
        headers_for: HeadersFor,
        request: pytest.FixtureRequest,
    ) -> None:
        self.client = client
        self.session = session
        self.request = request
        self.a, self.b, self.admin = (
            make_user(role="member")[0],
            make_user(role="member")[0],
            make_user(role="admin")[0],
        )
        self.headers_for = headers_for
        self._model: StoredModel | None = None

    def dataset(self, owner: User) -> Dataset:
        dataset_id = uuid.uuid4()
        uri = dataset_uri(owner.id, dataset_id)
        data = csv_bytes(seed=owner.id)
        get_store().put_bytes(uri, data)
        row = Dataset(
            id=dataset_id,
            owner_id=owner.id,
            name="homes.csv",
            uri=uri,
            rows=60,
            columns=[],
            sha256="0" * 64,
            size_bytes=len(data),
        )
        self.session.add(row)
        self.session.commit()
        return row

    def job(self, owner: User, status: str = JobStatus.QUEUED) -> Job:
        ended = state.is_terminal(status)
        job = Job(
            owner_id=owner.id,
            kind=JobKind.TRAINING,
            status=status,
            request={"train_data": self.dataset(owner).uri},
            inputs={},
            callback_url="https://hooks.example.com/tasador",
            finished_at=utcnow() if ended else None,
            result={"model_version": 1} if status == JobStatus.SUCCEEDED else None,
        )
        self.session.add(job)
        self.session.commit()
        return job

    def model(self, training_uri: str = "s3://tests/train.csv") -> StoredModel:
        """A registered version with a real artifact, so it predicts."""
        data = self.request.getfixturevalue("tiny_artifact")
        return store_model(self.session, data, training_uri=training_uri, alias=None)

    def api_key(self, owner: User) -> dict[str, Any]:
        body = {"name": f"key-{uuid.uuid4().hex[:8]}", "expires_in_days": 30}
        answer = self.client.post("/v1/api-keys", json=body, headers=self.headers_for(owner))
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def refresh_token(self, owner: User) -> str:
        form = {"username": owner.username, "password": TEST_PASSWORD}
        answer = self.client.post("/v1/auth/token", data=form)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["refresh_token"])

    def charted_model(self, training_uri: str = "s3://tests/train.csv") -> StoredModel:
        """A registered version with one chart stored beside its artifact."""
        model = self.model(training_uri)
        svg = render_charts(chart_frame(model.version), {"sector": 1.0})[FEATURE_IMPORTANCE]
        get_store().put_bytes(chart_uri(model.artifact_uri, FEATURE_IMPORTANCE), svg)
        return model

    def alias(self) -> str:
        name = f"matrix-{uuid.uuid4().hex[:8]}"
        registry_service.move_alias(self.session, name, self.model().version, actor_id=None)
        self.session.commit()
        return name


Build = Callable[[World, User], Call]


@dataclass(frozen=True)
class Row:
    build: Build
    anonymous: Expected
    member_own: Expected
    member_other: Expected
    admin_own: Expected
    admin_other: Expected


def plain(path: str, **kwargs: Any) -> Build:
    return lambda world, owner: Call(path, kwargs)


def everyone(status: int) -> tuple[Expected, ...]:
    return (status,) * 5


def signed_in(status: int) -> tuple[Expected, ...]:
    return (401, status, status, status, status)


def admins_only(status: int) -> tuple[Expected, ...]:
    return (401, 403, 403, status, status)


def owned(status: int, admin_other: Expected | None = None) -> tuple[Expected, ...]:
    """Yours: ``status``; another user's: 404 as if it did not exist (admins see all)."""
    return (401, status, 404, status, status if admin_other is None else admin_other)


def listed(admin_other: Expected = SHOWS) -> tuple[Expected, ...]:
    return (401, SHOWS, HIDES, SHOWS, admin_other)


# Pages: without a session, a redirect to the login form instead of a 401.
def page(status: int) -> tuple[Expected, ...]:
    return (303, status, status, status, status)


def owned_page(status: int) -> tuple[Expected, ...]:
    return (303, status, 404, status, status)


def admin_page(status: int) -> tuple[Expected, ...]:
    return (303, 403, 403, status, status)


def listed_page() -> tuple[Expected, ...]:
    return (303, SHOWS, HIDES, SHOWS, SHOWS)


CALLER_CSRF = "<the caller's CSRF token>"  # replaced by the caller's token when called


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
FAST = {"n_estimators": 10, "max_depth": 3}


def _job_path(suffix: str = "", status: str = JobStatus.QUEUED) -> Build:
    return lambda w, owner: Call(f"/v1/jobs/{w.job(owner, status).id}{suffix}")


def _job_file(path: str) -> Build:
    """A succeeded batch job of the owner's with both files stored; ``path`` has
    ``{id}`` where the job's id goes."""

    def build(w: World, owner: User) -> Call:
        job = w.job(owner, JobStatus.SUCCEEDED)
        files = {name: w.dataset(owner).uri for name in ("output_data", "errors_data")}
        job.kind, job.result = JobKind.BATCH_INFERENCE, files
        w.session.commit()
        return Call(path.format(id=job.id))

    return build


def _model_probe(single: bool) -> Build:
    """A version trained on the owner's dataset; the probe is that dataset's URI."""

    def build(w: World, owner: User) -> Call:
        training_uri = w.dataset(owner).uri
        version = w.model(training_uri).version
        return Call(f"/v1/models/{version}" if single else "/v1/models", probe=training_uri)

    return build


def _training(w: World, owner: User) -> Call:
    return Call("/v1/jobs/training", {"json": {"train_data": w.dataset(owner).uri, "params": FAST}})


def _batch(w: World, owner: User) -> Call:
    body = {"input_data": w.dataset(owner).uri, "model": w.model().version}
    return Call("/v1/jobs/batch-inference", {"json": body})


def _new_user(w: World, owner: User) -> Call:
    body = {"username": f"new-{uuid.uuid4().hex[:8]}", "password": "a long enough secret"}
    return Call("/v1/users", {"json": body})


def _api_keys(w: World, owner: User) -> Call:
    return Call("/v1/api-keys", probe=w.api_key(owner)["prefix"])


def _datasets(w: World, owner: User) -> Call:
    return Call("/v1/datasets", probe=str(w.dataset(owner).id))


def _jobs(w: World, owner: User) -> Call:
    return Call("/v1/jobs", probe=str(w.job(owner).id))


def _job_page(suffix: str = "") -> Build:
    return lambda w, owner: Call(f"/ui/jobs/{w.job(owner).id}{suffix}")


def _version_page(w: World, owner: User) -> Call:
    training_uri = w.dataset(owner).uri
    return Call(f"/ui/models/{w.model(training_uri).version}", probe=training_uri)


def _ui_login(w: World, owner: User) -> Call:
    nonce = "matrix-login-nonce"
    form = {"username": owner.username, "password": TEST_PASSWORD, "csrf": nonce}
    return Call("/ui/login", {"data": form, "headers": {"Cookie": f"{LOGIN_CSRF_COOKIE}={nonce}"}})


def _ui_predict(w: World, owner: User) -> Call:
    form = {"csrf": CALLER_CSRF, "model": str(w.model().version)}
    return Call("/ui/predict", {"data": {**form, **{k: str(v) for k, v in HOME.items()}}})


MATRIX: dict[tuple[str, str], Row] = {
    # Documentation and operations. /readyz and /metrics answer anyone while no
    # TASADOR_METRICS_TOKEN is set; with one set, /metrics needs it (tests/health).
    **{
        (method, path): Row(plain(path), *everyone(200))
        for path in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")
        for method in ("GET", "HEAD")
    },
    ("GET", "/healthz"): Row(plain("/healthz"), *everyone(200)),
    ("GET", "/readyz"): Row(plain("/readyz"), *everyone(200)),
    ("GET", "/metrics"): Row(plain("/metrics"), *everyone(200)),
    # Credentials: a login or refresh token is the authorisation, whoever sends it.
    ("POST", "/v1/auth/token"): Row(
        lambda w, owner: Call(
            "/v1/auth/token", {"data": {"username": owner.username, "password": TEST_PASSWORD}}
        ),
        *everyone(200),
    ),
    ("POST", "/v1/auth/refresh"): Row(
        lambda w, owner: Call(
            "/v1/auth/refresh", {"json": {"refresh_token": w.refresh_token(owner)}}
        ),
        *everyone(200),
    ),
    ("POST", "/v1/api-keys"): Row(
        plain("/v1/api-keys", json={"name": "matrix", "expires_in_days": 1}), *signed_in(201)
    ),
    ("GET", "/v1/api-keys"): Row(_api_keys, *listed(admin_other=HIDES)),
    ("DELETE", "/v1/api-keys/{key_id}"): Row(
        lambda w, owner: Call(f"/v1/api-keys/{w.api_key(owner)['id']}"), *owned(204)
    ),
    ("GET", "/v1/users/me"): Row(plain("/v1/users/me"), *signed_in(200)),
    ("POST", "/v1/users"): Row(_new_user, *admins_only(201)),
    # Datasets: a member sees only their own.
    ("POST", "/v1/datasets"): Row(
        plain("/v1/datasets", files={"file": ("h.csv", csv_bytes(), "text/csv")}),
        *signed_in(201),
    ),
    ("GET", "/v1/datasets"): Row(_datasets, *listed()),
    ("GET", "/v1/datasets/{dataset_id}"): Row(
        lambda w, owner: Call(f"/v1/datasets/{w.dataset(owner).id}"), *owned(200)
    ),
    # Jobs: submitting on someone else's data answers like missing data.
    ("POST", "/v1/jobs/training"): Row(_training, *owned(202)),
    ("POST", "/v1/jobs/batch-inference"): Row(_batch, *owned(202)),
    ("GET", "/v1/jobs"): Row(_jobs, *listed()),
    ("GET", "/v1/jobs/{job_id}"): Row(_job_path(), *owned(200)),
    ("POST", "/v1/jobs/{job_id}/cancel"): Row(_job_path("/cancel"), *owned(200)),
    ("GET", "/v1/jobs/{job_id}/deliveries"): Row(_job_path("/deliveries"), *owned(200)),
    ("GET", "/v1/jobs/{job_id}/output"): Row(_job_file("/v1/jobs/{id}/output"), *owned(200)),
    ("GET", "/v1/jobs/{job_id}/errors"): Row(_job_file("/v1/jobs/{id}/errors"), *owned(200)),
    ("POST", "/v1/jobs/{job_id}/deliveries/redeliver"): Row(
        _job_path("/deliveries/redeliver", JobStatus.SUCCEEDED), *owned(202)
    ),
    ("GET", "/v1/webhooks/secret"): Row(plain("/v1/webhooks/secret"), *signed_in(200)),
    ("POST", "/v1/webhooks/secret/rotate"): Row(
        plain("/v1/webhooks/secret/rotate"), *signed_in(200)
    ),
    # Models are shared, but a member sees only training data they may read.
    ("GET", "/v1/models"): Row(_model_probe(single=False), *listed()),
    ("GET", "/v1/models/{version}"): Row(_model_probe(single=True), *listed()),
    ("PUT", "/v1/models/aliases/{alias}"): Row(
        lambda w, owner: Call(
            f"/v1/models/aliases/{w.alias()}", {"json": {"version": w.model().version}}
        ),
        *admins_only(200),
    ),
    ("DELETE", "/v1/models/aliases/{alias}"): Row(
        lambda w, owner: Call(f"/v1/models/aliases/{w.alias()}"), *admins_only(204)
    ),
    ("POST", "/v1/predictions"): Row(
        lambda w, owner: Call(
            "/v1/predictions", {"json": {"model": w.model().version, "instances": [HOME]}}
        ),
        *signed_in(200),
    ),
    ("GET", "/v1/predictions/log"): Row(plain("/v1/predictions/log"), *admins_only(200)),
    ("GET", "/v1/ping"): Row(plain("/v1/ping"), *signed_in(200)),
    # Pages: what the API shows each caller, and nothing more.
    ("GET", "/ui"): Row(plain("/ui"), *everyone(303)),
    ("GET", "/ui/login"): Row(plain("/ui/login"), *everyone(200)),
    ("POST", "/ui/login"): Row(_ui_login, *everyone(303)),
    ("POST", "/ui/logout"): Row(plain("/ui/logout", data={"csrf": CALLER_CSRF}), *everyone(303)),
    ("GET", "/ui/models"): Row(plain("/ui/models"), *page(200)),
    ("GET", "/ui/models/compare"): Row(
        lambda w, owner: Call(f"/ui/models/compare?a={w.model().version}&b={w.model().version}"),
        *page(200),
    ),
    ("GET", "/ui/models/{version}"): Row(_version_page, *listed_page()),
    ("GET", "/ui/models/{version}/charts/{name}.svg"): Row(
        lambda w, owner: Call(
            f"/ui/models/{w.charted_model().version}/charts/{FEATURE_IMPORTANCE}.svg"
        ),
        *page(200),
    ),
    ("GET", "/ui/jobs"): Row(
        lambda w, owner: Call("/ui/jobs", probe=str(w.job(owner).id)[:8]), *listed_page()
    ),
    ("GET", "/ui/jobs/{job_id}"): Row(_job_page(), *owned_page(200)),
    ("GET", "/ui/jobs/{job_id}/state"): Row(_job_page("/state"), *owned_page(200)),
    ("GET", "/ui/jobs/{job_id}/download/{kind}"): Row(
        _job_file("/ui/jobs/{id}/download/output"), *owned_page(200)
    ),
    ("GET", "/ui/admin/users"): Row(plain("/ui/admin/users"), *admin_page(200)),
    ("GET", "/ui/admin/aliases"): Row(plain("/ui/admin/aliases"), *admin_page(200)),
    ("POST", "/ui/admin/aliases"): Row(
        lambda w, owner: Call(
            "/ui/admin/aliases",
            {"data": {"csrf": CALLER_CSRF, "alias": w.alias(), "version": str(w.model().version)}},
        ),
        *admin_page(200),
    ),
    ("GET", "/ui/predict"): Row(plain("/ui/predict"), *page(200)),
    ("POST", "/ui/predict"): Row(_ui_predict, *page(200)),
}


def served_routes() -> set[tuple[str, str]]:
    return {
        (method, str(route.path))
        for route in iter_route_contexts(create_app().routes)
        for method in route.methods or ()
    }


def test_every_route_has_a_row() -> None:
    served = served_routes()
    assert sorted(served - MATRIX.keys()) == [], "routes without a row in MATRIX"
    assert sorted(MATRIX.keys() - served) == [], "rows for routes the app no longer serves"


@pytest.fixture
def world(
    client: TestClient,
    db_session: Session,
    make_user: MakeUser,
    auth_headers_for: HeadersFor,
    request: pytest.FixtureRequest,
) -> World:
    return World(client, db_session, make_user, auth_headers_for, request)


def _cells(world: World, row: Row) -> list[tuple[str, str, User | None, User, Expected]]:
    """(principal, case, caller, owner of the object, expected answer) for one row."""
    a, b, admin = world.a, world.b, world.admin
    return [
        ("anonymous", "own", None, a, row.anonymous),
        ("anonymous", "other", None, b, row.anonymous),
        ("member A", "own", a, a, row.member_own),
        ("member A", "other", a, b, row.member_other),
        ("member B", "own", b, b, row.member_own),
        ("member B", "other", b, a, row.member_other),
        ("admin", "own", admin, admin, row.admin_own),
        ("admin", "other", admin, a, row.admin_other),
    ]


def _credentials(world: World, caller: User | None, is_page: bool) -> dict[str, str]:
    if caller is None:
        return {}
    if is_page:
        return {"Cookie": f"{ui_session.COOKIE_NAME}={ui_session.issue(caller.id)}"}
    return world.headers_for(caller)


def _csrf(headers: dict[str, str]) -> str:
    """The CSRF token of the session in ``headers`` (none: a token no session has)."""
    cookie = headers.get("Cookie", "").partition("=")[2]
    found = ui_session.read(cookie)
    return ui_session.csrf_token(found.session_id) if found else "no-session"


@pytest.mark.parametrize(
    ("method", "path"), [pytest.param(*key, id=" ".join(key)) for key in sorted(MATRIX)]
)
def test_route_answers_each_principal_as_the_matrix_says(
    world: World, method: str, path: str
) -> None:
    row = MATRIX[(method, path)]
    wrong = []
    for principal, case, caller, owner, expected in _cells(world, row):
        call = row.build(world, owner)
        is_page = call.path.startswith("/ui")
        headers, kwargs = _credentials(world, caller, is_page), dict(call.kwargs)
        headers.update(kwargs.pop("headers", {}))
        if is_page:
            kwargs["follow_redirects"] = False
            if kwargs.get("data", {}).get("csrf") == CALLER_CSRF:
                kwargs["data"] = {**kwargs["data"], "csrf": _csrf(headers)}
        answer = world.client.request(method, call.path, headers=headers, **kwargs)
        status = expected.status if isinstance(expected, Sees) else expected
        got: Expected = answer.status_code
        if isinstance(expected, Sees) and answer.status_code == expected.status:
            assert call.probe, f"{method} {path} needs a probe for SHOWS/HIDES"
            got = Sees(shown=call.probe in answer.text)
        if got != expected:
            wrong.append(f"{principal}, {case} object: expected {expected}, got {got}")
        elif status >= 400 and answer.content and not is_page:
            assert "error" in answer.json(), answer.text  # refusals use the one envelope
    assert wrong == [], f"{method} {path}\n" + "\n".join(wrong)
