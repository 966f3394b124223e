"""What the runner prints once everything answers: addresses and a curl session.

The curl lines are meant to be pasted into a shell as they are, so they carry the
real port, user and dataset, and need only curl and python3.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path

from api.standalone.bootstrap import Outcome

# One listing shaped like the demo data, for the predict example.
EXAMPLE_INSTANCE = {
    "type": "departamento",
    "sector": "las condes",
    "net_usable_area": 120.0,
    "net_area": 140.0,
    "n_rooms": 3,
    "n_bathroom": 2,
    "latitude": -33.41,
    "longitude": -70.56,
}
_JSON_FIELD = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"{}\"])'"
_FINISHED = '"status": *"(succeeded|failed|cancelled)"'


@dataclass(frozen=True)
class Endpoints:
    api: str
    flower: str
    flower_user: str
    flower_password: str
    data_dir: Path
    admin_password_from_env: bool


def curl_session(outcome: Outcome, endpoints: Endpoints) -> str:
    """Log in, predict, submit a batch job over the demo file, poll it to the end."""
    if outcome.generated_password is not None:
        shell_password = shlex.quote(outcome.generated_password)
    elif endpoints.admin_password_from_env:
        shell_password = '"$TASADOR_ADMIN_PASSWORD"'  # noqa: S105 (the shell expands it)
    else:
        shell_password = "'<the admin password printed on the first start>'"  # noqa: S105
    auth = '-H "Authorization: Bearer $TOKEN"'
    as_json = "-H 'Content-Type: application/json'"
    predict = shlex.quote(json.dumps({"instances": [EXAMPLE_INSTANCE]}))
    batch = shlex.quote(json.dumps({"input_data": outcome.state.batch_data}))
    lines = [
        f"API={endpoints.api}",
        f"PASSWORD={shell_password}",
        f'TOKEN=$(curl -sf -X POST "$API/v1/auth/token" -d username={outcome.admin_username} '
        f'--data-urlencode "password=$PASSWORD" | {_JSON_FIELD.format("access_token")})',
        f'curl -s -X POST "$API/v1/predictions" {auth} {as_json} -d {predict}; echo',
        f'JOB=$(curl -sf -X POST "$API/v1/jobs/batch-inference" {auth} {as_json} -d {batch} '
        f"| {_JSON_FIELD.format('id')})",
        f"until curl -s \"$API/v1/jobs/$JOB\" {auth} | grep -Eq '{_FINISHED}'; do sleep 1; done",
        f'curl -s "$API/v1/jobs/$JOB" {auth}; echo',
    ]
    return "\n".join(lines)


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
            "Try it (log in, predict, run a batch job on the demo file, wait for it):",
            "",
            curl_session(outcome, endpoints),
            "",
            "Press Ctrl-C to stop every process.",
            "",
        ]
    )
