"""What the runner prints once everything answers: addresses and a curl session.

The curl session is one ``export`` line (the real address and, on the start
that created it, the password) and then the quickstart snippet of
``api.standalone.quickstart``, the same text as the README's. It needs only
curl and python3, and stops with a message at the first step that fails.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from api.config import get_settings
from api.standalone.bootstrap import Outcome
from api.standalone.quickstart import QUICKSTART, exports


@dataclass(frozen=True)
class Endpoints:
    api: str
    flower: str
    flower_user: str
    flower_password: str
    data_dir: Path
    admin_password_from_env: bool


def curl_session(outcome: Outcome, endpoints: Endpoints) -> str:
    """Where the API is and the password, then the quickstart snippet (as in the README)."""
    if outcome.generated_password is not None:
        first = exports(endpoints.api, outcome.generated_password)
    elif endpoints.admin_password_from_env:
        first = exports(endpoints.api, None)  # TASADOR_ADMIN_PASSWORD is already set
    else:
        first = exports(endpoints.api, None) + (
            "\nexport TASADOR_ADMIN_PASSWORD='<the admin password printed on the first start>'"
        )
    username = get_settings().admin_username
    if username != "admin":
        first += f" TASADOR_ADMIN_USERNAME={shlex.quote(username)}"
    return f"{first}\n{QUICKSTART}"


def render(outcome: Outcome, endpoints: Endpoints) -> str:
    if outcome.generated_password is not None:
        admin = (
            f"{outcome.admin_username} / password {outcome.generated_password}\n"
            "              (generated now and shown only this once; "
            "set TASADOR_ADMIN_PASSWORD to choose it)"
        )
    elif endpoints.admin_password_from_env:
        admin = f"{outcome.admin_username} (password: TASADOR_ADMIN_PASSWORD of the first start)"
    else:
        admin = f"{outcome.admin_username} (password as printed on the first start)"
    training = (
        f"A first model is training on synthetic data (job {outcome.state.first_job_id});\n"
        "predictions answer 409 no_model until it is done, usually within a minute."
        if outcome.first_start
        else "Data from earlier runs is kept; models, jobs and users are as you left them."
    )
    return "\n".join(
        [
            "",
            "Tasador is running.",
            f"  API         {endpoints.api}  (OpenAPI docs at {endpoints.api}/docs)",
            f"  Flower      {endpoints.flower}  "
            f"(user {endpoints.flower_user}, password {endpoints.flower_password})",
            f"  admin       {admin}",
            f"  data, logs  {endpoints.data_dir}, {endpoints.data_dir / 'logs'}",
            "",
            training,
            "",
            "Try it: paste these lines into a shell (log in, predict, run a batch job on the",
            "demo file and download its predictions; each step is checked):",
            "",
            curl_session(outcome, endpoints),
            "",
            "Press Ctrl-C to stop every process.",
            "",
        ]
    )
