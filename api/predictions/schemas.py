"""Bodies of the predictions API, and the request parser of the hot path.

Instances are validated by pydantic-core straight from the JSON bytes into plain
dictionaries (a TypedDict), which ``FastPredictor.predict_records`` consumes
as they are: no model objects, no pandas. The rules match ``api.ml.validation``
(the batch validator), so a row accepted by one is accepted by the other:

* ``type`` is trimmed and lower-cased and must be ``casa`` or ``departamento``:
  the model was trained on those two only.
* ``sector`` is trimmed and lower-cased and must not be empty. An unknown sector
  is accepted: the target encoder maps it to the training prior, exactly as the
  scikit-learn pipeline does.
* areas and counts are finite numbers >= 0; latitude and longitude lie in
  Chile's bounding box.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import ErrorDetails
from typing_extensions import TypedDict

from api.errors import InvalidInput
from api.ml.comparables import MAX_COMPARABLES
from api.ml.intervals import MAX_LEVEL, MIN_LEVEL
from api.ml.schema import FEATURES, FLOAT32_MAX, LATITUDE_RANGE, LONGITUDE_RANGE, PROPERTY_TYPES

MAX_INSTANCES: Final[int] = 1000
_TYPES_TEXT = " or ".join(repr(t) for t in sorted(PROPERTY_TYPES))

# An alias name; the prediction log keeps what was asked for in 64 characters.
ModelName = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=64)]


def _normalised(value: object) -> object:
    # Literal matching is exact, so trim and lower-case first, as the batch
    # validator does; non-strings pass through to be refused by the Literal.
    return value.strip().lower() if isinstance(value, str) else value


PropertyType = Annotated[Literal["casa", "departamento"], BeforeValidator(_normalised)]
Sector = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=200)
]
Amount = Annotated[float, Field(strict=True, ge=0, le=FLOAT32_MAX, allow_inf_nan=False)]
Latitude = Annotated[
    float, Field(strict=True, ge=LATITUDE_RANGE[0], le=LATITUDE_RANGE[1], allow_inf_nan=False)
]
Longitude = Annotated[
    float, Field(strict=True, ge=LONGITUDE_RANGE[0], le=LONGITUDE_RANGE[1], allow_inf_nan=False)
]

IntervalLevel = Annotated[
    float, Field(strict=True, ge=MIN_LEVEL, le=MAX_LEVEL, allow_inf_nan=False)
]


class Instance(TypedDict):
    """One property to value."""

    type: PropertyType
    sector: Sector
    net_usable_area: Amount
    net_area: Amount
    n_rooms: Amount
    n_bathroom: Amount
    latitude: Latitude
    longitude: Longitude


class PredictionRequest(BaseModel):
    """`model` is "production" (default), another alias, or a version number."""

    model_config = ConfigDict(extra="ignore")

    model: StrictInt | ModelName = "production"
    instances: list[Instance] = Field(min_length=1, max_length=MAX_INSTANCES)
    interval: IntervalLevel | None = Field(
        default=None,
        description="give each price a range meant to hold it with this probability "
        "(0.5 to 0.99): `lower` and `upper`",
    )
    comparables: Annotated[int, Field(strict=True, ge=1, le=MAX_COMPARABLES)] | None = Field(
        default=None,
        description="list with each price this many training listings of the same type "
        f"nearest to it (1 to {MAX_COMPARABLES})",
    )


class Comparable(BaseModel):
    """A training listing near the valued one, of the same type."""

    distance_m: float = Field(description="great-circle distance in metres")
    type: str
    sector: str
    net_usable_area: float
    net_area: float
    n_rooms: float
    n_bathroom: float
    latitude: float
    longitude: float
    price: float
    price_per_m2: float | None = Field(description="price / net_usable_area; null for 0 m²")


class Prediction(BaseModel):
    price: float
    lower: float | None = Field(default=None, description="only when `interval` was asked")
    upper: float | None = Field(default=None, description="only when `interval` was asked")
    comparables: list[Comparable] | None = Field(
        default=None, description="nearest first; only when `comparables` was asked"
    )


class PredictionResponse(BaseModel):
    model_version: int
    predictions: list[Prediction]


class PredictionLogEntry(BaseModel):
    id: int
    created_at: datetime
    request_id: str
    user_id: int | None
    model: str
    model_version: int
    position: int
    inputs: dict[str, Any]
    price: float
    latency_ms: float

    @classmethod
    def from_row(cls, row: Any) -> PredictionLogEntry:
        return cls(
            id=row.id,
            created_at=row.created_at,
            request_id=row.request_id,
            user_id=row.user_id,
            model=row.model,
            model_version=row.model_version,
            position=row.position,
            inputs={name: getattr(row, name) for name in FEATURES},
            price=row.price,
            latency_ms=row.latency_ms,
        )


class PredictionLogPage(BaseModel):
    items: list[PredictionLogEntry]


class PingResponse(BaseModel):
    ok: Literal[True]
    user_id: int


_REQUEST: Final = TypeAdapter(PredictionRequest)


def parse_request(body: bytes) -> PredictionRequest:
    """Validate a JSON body; InvalidInput (422) names every bad instance and field."""
    try:
        return _REQUEST.validate_json(body)
    except ValidationError as exc:
        problems = _dedupe(
            [_problem(err) for err in exc.errors(include_url=False, include_input=False)]
        )
        first = problems[0]
        raise InvalidInput(
            f"{_where(first)}: {first['reason']}", details=problems, code="invalid_instances"
        ) from None


def _dedupe(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # A union (``model``) reports one error per member; one line per place is enough.
    seen: set[tuple[Any, Any]] = set()
    unique = []
    for problem in problems:
        key = (problem["index"], problem["field"])
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return unique


def _where(problem: dict[str, Any]) -> str:
    if problem["index"] is None:
        return str(problem["field"])
    if problem["field"] is None:
        return f"instances[{problem['index']}]"
    return f"instances[{problem['index']}].{problem['field']}"


def _number(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _problem(err: ErrorDetails) -> dict[str, Any]:
    loc = err["loc"]
    index: int | None = None
    field: str | None = None
    if len(loc) >= 2 and loc[0] == "instances" and isinstance(loc[1], int):
        index = loc[1]
        field = str(loc[2]) if len(loc) > 2 else None
    elif loc:
        field = str(loc[0])
    else:
        field = "body"
    return {"index": index, "field": field, "reason": _reason(err, field)}


def _reason(err: ErrorDetails, field: str | None) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if field == "model":
        return "must be an alias name or a version number"
    if kind in ("greater_than_equal", "less_than_equal") and field in ("latitude", "longitude"):
        low, high = LATITUDE_RANGE if field == "latitude" else LONGITUDE_RANGE
        return f"must be between {low} and {high} (Chile)"
    if kind == "greater_than_equal":
        return f"must be >= {_number(ctx.get('ge'))}"
    if kind == "less_than_equal":
        return f"must be <= {_number(ctx.get('le'))}"
    if kind == "finite_number":
        return "must be a finite number"
    if kind in ("float_type", "float_parsing"):
        return "must be a number"
    if kind == "literal_error" and field == "type":
        return f"must be {_TYPES_TEXT}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "string_type":
        return "must be a string"
    if kind in ("too_short", "too_long") and field == "instances":
        return f"must hold 1 to {MAX_INSTANCES} instances"
    if kind in ("dict_type", "model_type"):
        return "must be a JSON object"
    if kind == "list_type":
        return "must be a list"
    if kind == "json_invalid":
        return f"the body is not valid JSON ({ctx.get('error')})"
    return str(err["msg"])
