"""Try a prediction: the eight features in a form, answered with the price.

The form is answered by the same code as ``POST /v1/predictions`` (validation,
serving cache, prediction log), so what it says is what the API would say.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Final

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from api.dependencies import open_sessions
from api.errors import TasadorError
from api.ml.schema import FEATURES, NUMERIC
from api.ownership import Principal
from api.predictions import service as predictions_service
from api.ui.dependencies import UiUser, check_csrf, render

router = APIRouter(prefix="/ui/predict", include_in_schema=False)

# A flat in Las Condes: what the form shows before anyone types.
EXAMPLE: Final[dict[str, str]] = {
    "type": "departamento",
    "sector": "las condes",
    "net_usable_area": "80",
    "net_area": "90",
    "n_rooms": "2",
    "n_bathroom": "2",
    "latitude": "-33.41",
    "longitude": "-70.56",
}
# What the form asks for beside the price; models trained before ranges and
# comparables existed answer the price alone, with a note.
INTERVAL_LEVELS: Final[tuple[str, ...]] = ("0.8", "0.9", "none")
COMPARABLES_SHOWN: Final[int] = 5
EXTRAS_UNAVAILABLE: Final[frozenset[str]] = frozenset(
    {"interval_unavailable", "comparables_unavailable"}
)
LABELS: Final[dict[str, str]] = {
    "type": "Type",
    "sector": "Sector",
    "net_usable_area": "Net usable area (m²)",
    "net_area": "Net area (m²)",
    "n_rooms": "Rooms",
    "n_bathroom": "Bathrooms",
    "latitude": "Latitude",
    "longitude": "Longitude",
}


def _number(text: str) -> float | str:
    """A number if the text is one; otherwise the text, for the validator to name."""
    try:
        return float(text.strip().replace(",", "."))
    except ValueError:
        return text


def _page(
    request: Request, viewer: Any, values: dict[str, str], status: int, **extra: Any
) -> Response:
    return render(
        request,
        "predict.html",
        viewer,
        status,
        values=values,
        features=FEATURES,
        labels=LABELS,
        levels=INTERVAL_LEVELS,
        **extra,
    )


@router.get("", response_class=HTMLResponse)
def predict_form(request: Request, viewer: UiUser) -> Response:
    return _page(request, viewer, {**EXAMPLE, "model": "production", "interval": "0.8"}, 200)


@router.post("", response_class=HTMLResponse)
async def predict(
    request: Request,
    viewer: UiUser,
    csrf: Annotated[str, Form(max_length=128)] = "",
    model: Annotated[str, Form(max_length=64)] = "production",
    interval: Annotated[str, Form(max_length=8)] = "0.8",
    type: Annotated[str, Form(max_length=64)] = "",
    sector: Annotated[str, Form(max_length=256)] = "",
    net_usable_area: Annotated[str, Form(max_length=64)] = "",
    net_area: Annotated[str, Form(max_length=64)] = "",
    n_rooms: Annotated[str, Form(max_length=64)] = "",
    n_bathroom: Annotated[str, Form(max_length=64)] = "",
    latitude: Annotated[str, Form(max_length=64)] = "",
    longitude: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    check_csrf(viewer, csrf)
    values = {
        "type": type,
        "sector": sector,
        "net_usable_area": net_usable_area,
        "net_area": net_area,
        "n_rooms": n_rooms,
        "n_bathroom": n_bathroom,
        "latitude": latitude,
        "longitude": longitude,
    }
    instance: dict[str, Any] = {
        name: _number(values[name]) if name in NUMERIC else values[name] for name in FEATURES
    }
    name = model.strip()
    chosen: int | str = int(name) if re.fullmatch(r"[0-9]+", name) else name or "production"
    level = float(interval) if interval in INTERVAL_LEVELS[:-1] else None
    extras = {"interval": level, "comparables": COMPARABLES_SHOWN} if level else {}
    form = {**values, "model": model, "interval": interval if level else "none"}
    note = None
    try:
        result = await _ask(request, viewer, {"model": chosen, "instances": [instance], **extras})
    except TasadorError as exc:
        if exc.code == "comparables_forbidden":
            note = "No comparables: they are rows of training data you may not read."
            extras.pop("comparables")
        elif exc.code in EXTRAS_UNAVAILABLE:
            note = "This model version was trained before price ranges and comparables: price only."
            extras = {}
        else:
            return _page(request, viewer, form, exc.status_code, error=exc.message)
        result = await _ask(request, viewer, {"model": chosen, "instances": [instance], **extras})
    prediction = result["predictions"][0]
    return _page(
        request,
        viewer,
        form,
        200,
        price=prediction["price"],
        lower=prediction.get("lower"),
        upper=prediction.get("upper"),
        comparables=prediction.get("comparables") or [],
        model_version=result["model_version"],
        note=note,
    )


async def _ask(request: Request, viewer: Any, body: dict[str, Any]) -> dict[str, Any]:
    """The answer ``POST /v1/predictions`` would give this body (its errors raised)."""
    answer = await run_in_threadpool(
        predictions_service.predict,
        open_sessions(request),
        json.dumps(body).encode(),
        caller=Principal.of(viewer.user),
        request_id=getattr(request.state, "request_id", "") or "",
    )
    decoded: dict[str, Any] = json.loads(answer)
    return decoded
