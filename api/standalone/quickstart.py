"""The quickstart snippet: the same text in the banner and in the README.

It is pasted into a shell. It runs in a subshell with ``set -euo pipefail``,
so a failed step stops it (and not the user's shell) with one line saying what
failed; every call has a time limit, and each wait has a deadline, so it never
hangs. It reads the address and the password from the environment (the banner
prints the ``export`` line before it), so the README can hold it verbatim.

Steps: log in, wait for a model in ``production``, predict one listing, run a
batch job over the demo file, wait for it, download its predictions to
``.tasador/predictions.csv``.
"""

from __future__ import annotations

import shlex
from typing import Final

QUICKSTART: Final[str] = r"""(
set -euo pipefail
API=${TASADOR_API:-http://localhost:8000}
fail() { echo "quickstart: $*" >&2; exit 1; }
get() { curl -sS --fail -m 30 -H "Authorization: Bearer $TOKEN" "$@"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
[ -n "${TASADOR_ADMIN_PASSWORD:-}" ] || fail "set TASADOR_ADMIN_PASSWORD to the admin password"
# 1. log in
TOKEN=$(curl -sS --fail -m 10 -X POST "$API/v1/auth/token" \
  -d "username=${TASADOR_ADMIN_USERNAME:-admin}" \
  --data-urlencode "password=$TASADOR_ADMIN_PASSWORD" | field '["access_token"]') \
  || fail "cannot log in at $API: is it running, and is TASADOR_ADMIN_PASSWORD right?"
# 2. wait (up to 5 minutes) for a model in production
for _ in $(seq 150); do
  MODELS=$(get "$API/v1/models") || fail "cannot list models"
  case $MODELS in *'"production"'*) break ;; esac
  sleep 2
done
case $MODELS in *'"production"'*) ;; *) fail "no model in production after 5 minutes" ;; esac
# 3. predict one listing
get -X POST "$API/v1/predictions" -H 'Content-Type: application/json' -d '{"instances": [
  {"type": "departamento", "sector": "las condes", "net_usable_area": 120, "net_area": 140,
   "n_rooms": 3, "n_bathroom": 2, "latitude": -33.41, "longitude": -70.56}]}' \
  || fail "the prediction failed"
echo
# 4. run a batch job over the demo file and wait for it (up to 5 minutes)
DATA=$(get "$API/v1/datasets" | python3 -c 'import json,sys
print([d["uri"] for d in json.load(sys.stdin) if d["name"] == "demo-batch"][0])') \
  || fail "no demo-batch dataset: upload a CSV with POST /v1/datasets and use its uri"
JOB=$(get -X POST "$API/v1/jobs/batch-inference" -H 'Content-Type: application/json' \
  -d "{\"input_data\": \"$DATA\"}" | field '["id"]') || fail "the batch job was refused"
for _ in $(seq 300); do
  STATUS=$(get "$API/v1/jobs/$JOB" | field '["status"]') || fail "cannot read job $JOB"
  case $STATUS in succeeded) break ;; failed | cancelled) fail "job $JOB $STATUS" ;; esac
  sleep 1
done
[ "$STATUS" = succeeded ] || fail "job $JOB is still $STATUS after 5 minutes"
# 5. download its predictions
OUT=.tasador/predictions.csv
get "$API/v1/jobs/$JOB/output" --create-dirs -o $OUT || fail "cannot download job $JOB's output"
echo "job $JOB succeeded: $(($(wc -l < $OUT) - 1)) rows in $OUT"
)"""


def exports(api: str, password: str | None) -> str:
    """The line the banner prints before the snippet: where the API is, and the password."""
    parts = [f"TASADOR_API={shlex.quote(api)}"]
    if password is not None:
        parts.append(f"TASADOR_ADMIN_PASSWORD={shlex.quote(password)}")
    return "export " + " ".join(parts)
