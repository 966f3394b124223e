"""Work done in the runner before the children start.

Every start: migrate (idempotent) and make sure the admin exists. First start of
a data directory only: upload a synthetic demo dataset and submit a first
training job, so the service has a model to predict with a minute later. The
state file records what was created; later starts read it to print the same
commands.
"""

from __future__ import annotations

import io
import json
import secrets
import sys
from dataclasses import asdict, dataclass

from sqlalchemy.orm import Session

from api.config import get_settings
from api.datasets import service as datasets_service
from api.db.engine import dispose_engine
from api.db.migrate import upgrade
from api.db.session import session_scope
from api.db.tables.user import User
from api.errors import InvalidInput
from api.jobs import submission as jobs_submission
from api.jobs.schemas import TrainingJobIn
from api.ml.schema import TARGET
from api.ml.synth import generate
from api.standalone.environment import Layout
from api.storage import get_store
from api.users import service as users_service

DEMO_TRAIN_ROWS = 3000
DEMO_BATCH_ROWS = 500
# Few enough stages that the first model is ready within a minute on a laptop.
FIRST_TRAINING_PARAMS = {"n_estimators": 200}


@dataclass(frozen=True)
class State:
    """What the first start created (kept in ``standalone.json``)."""

    train_data: str
    batch_data: str
    first_job_id: str


@dataclass(frozen=True)
class Outcome:
    admin_username: str
    generated_password: str | None  # set only when the admin was created just now
    state: State
    first_start: bool


def run(layout: Layout) -> Outcome:
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(url=settings.sqlalchemy_url)
    get_store().ensure_bucket(settings.bucket)
    generated = _ensure_admin()
    state = _load_state(layout)
    first_start = state is None
    if state is None:
        try:
            state = _create_demo()
        except BaseException:
            if generated is not None:
                # The banner will not be printed, and the password is stored
                # nowhere: without this line the admin would be locked out.
                print(f"admin password (generated now): {generated}", file=sys.stderr)
            raise
        layout.state_file.write_text(json.dumps(asdict(state), indent=2), encoding="utf-8")
    # The children open their own connections; the runner needs none from here on.
    dispose_engine()
    return Outcome(settings.admin_username, generated, state, first_start)


def _ensure_admin() -> str | None:
    """Create the admin if missing; the password it got if it was generated now."""
    settings = get_settings()
    with session_scope() as session:
        if users_service.get_by_username(session, settings.admin_username) is not None:
            return None
        given = settings.admin_password
        password = given.get_secret_value() if given is not None else secrets.token_urlsafe(12)
        try:
            users_service.ensure_admin(session, settings.admin_username, password)
        except InvalidInput as exc:
            # Only the operator's own values can break the rules; say which one.
            username_broken = exc.code == "invalid_username"
            setting = "TASADOR_ADMIN_USERNAME" if username_broken else "TASADOR_ADMIN_PASSWORD"
            raise InvalidInput(f"{setting}: {exc.message}", code=exc.code) from exc
    return None if given is not None else password


def _load_state(layout: Layout) -> State | None:
    if not layout.state_file.exists():
        return None
    return State(**json.loads(layout.state_file.read_text(encoding="utf-8")))


def _create_demo() -> State:
    """Upload synthetic training and batch files and submit the first training job."""
    settings = get_settings()
    train = generate(DEMO_TRAIN_ROWS, seed=1)
    batch = generate(DEMO_BATCH_ROWS, seed=2).drop(columns=[TARGET])
    with session_scope() as session:
        admin = users_service.get_by_username(session, settings.admin_username)
        if admin is None:  # _ensure_admin ran just before
            raise RuntimeError(f"admin {settings.admin_username!r} is missing")
        train_uri = _upload(session, admin, train.to_csv(index=False), "demo-train")
        batch_uri = _upload(session, admin, batch.to_csv(index=False), "demo-batch")
        body = TrainingJobIn(train_data=train_uri, params=FIRST_TRAINING_PARAMS)
        job = jobs_submission.submit_training(session, admin, body, key=None)
        job_id = str(job.id)
    # The task is sent once the session commits, i.e. here; the worker picks it
    # up as soon as it starts.
    return State(train_data=train_uri, batch_data=batch_uri, first_job_id=job_id)


def _upload(session: Session, owner: User, text: str, name: str) -> str:
    dataset = datasets_service.upload(session, owner, io.BytesIO(text.encode()), name)
    return dataset.uri
