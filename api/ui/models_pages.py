"""Model pages: the table of versions, one version's evidence, two versions side by side."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from api.db.base import MAX_INT_ID
from api.db.tables.model_version import ModelVersion
from api.dependencies import DbSession
from api.errors import NotFound
from api.ml.charts import CHART_NAMES, CHART_TITLES
from api.ownership import Principal, visible_uri
from api.registry import artifacts as registry_artifacts
from api.registry import service as registry_service
from api.ui.dependencies import UiUser, Viewer, render

router = APIRouter(prefix="/ui/models", include_in_schema=False)

Version = Annotated[int, Path(ge=1, le=MAX_INT_ID)]
# (metric key, label, how to show it, whether larger is better)
METRICS: Final[tuple[tuple[str, str, str, bool], ...]] = (
    ("rmse", "RMSE (UF)", "{:,.0f}", False),
    ("mae", "MAE (UF)", "{:,.0f}", False),
    ("median_ape", "Median APE", "{:.1%}", False),
    ("within_10pct", "Within ±10 %", "{:.1%}", True),
)
SORTABLE: Final[frozenset[str]] = frozenset(
    {"version", "preset", "created_at", "rows", *(key for key, *_ in METRICS)}
)
LIST_LIMIT: Final[int] = 100


@dataclass(frozen=True)
class VersionView:
    """A version as the viewer may see it: a member sees no artifact location and no
    training-data location that is not theirs (as in ``GET /v1/models``)."""

    version: int
    preset: str
    created_at: datetime
    rows: int
    sha256: str
    training_uri: str | None
    metrics: dict[str, Any]
    params: dict[str, Any]
    evaluation: dict[str, Any]
    aliases: list[str]
    job_id: str | None

    @property
    def in_production(self) -> bool:
        return registry_service.PRODUCTION in self.aliases

    def metric(self, key: str) -> str:
        value = self.metrics.get(key)
        fmt = next(f for k, _, f, _ in METRICS if k == key)
        return "-" if value is None else fmt.format(value)


def version_views(
    db: Session, versions: Sequence[ModelVersion], viewer: Viewer
) -> list[VersionView]:
    """``versions`` as ``viewer`` may see them, with their aliases."""
    aliases = registry_service.aliases_by_version(db, [v.version for v in versions])
    principal = Principal.of(viewer.user)
    return [
        VersionView(
            version=v.version,
            preset=v.preset,
            created_at=v.created_at,
            rows=int(v.training_data.get("rows", 0)),
            sha256=str(v.training_data.get("sha256", "")),
            training_uri=visible_uri(principal, v.training_data.get("uri")),
            metrics=v.metrics,
            params=v.params,
            evaluation=v.evaluation,
            aliases=aliases.get(v.version, []),
            job_id=str(v.job_id) if v.job_id else None,
        )
        for v in versions
    ]


def _sort_key(key: str) -> Any:
    def value(view: VersionView) -> Any:
        if key in ("version", "preset", "created_at", "rows"):
            return getattr(view, key)
        metric = view.metrics.get(key)
        return float("inf") if metric is None else metric

    return value


@router.get("", response_class=HTMLResponse)
def models_table(
    request: Request,
    db: DbSession,
    viewer: UiUser,
    sort: Annotated[str, Query(max_length=32)] = "version",
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
) -> Response:
    views = version_views(db, registry_service.list_versions(db, LIST_LIMIT, None), viewer)
    key = sort if sort in SORTABLE else "version"
    views.sort(key=_sort_key(key), reverse=order == "desc")
    return render(
        request, "models.html", viewer, views=views, metrics=METRICS, sort=key, order=order
    )


@router.get("/compare", response_class=HTMLResponse)
def compare(
    request: Request,
    db: DbSession,
    viewer: UiUser,
    a: Annotated[int, Query(ge=1, le=MAX_INT_ID)],
    b: Annotated[int, Query(ge=1, le=MAX_INT_ID)],
) -> Response:
    left, right = version_views(
        db, [registry_service.get(db, a), registry_service.get(db, b)], viewer
    )
    return render(
        request,
        "compare.html",
        viewer,
        left=left,
        right=right,
        metrics=METRICS,
        charts=[(name, CHART_TITLES[name]) for name in CHART_NAMES],
    )


@router.get("/{version}", response_class=HTMLResponse)
def version_page(request: Request, db: DbSession, viewer: UiUser, version: Version) -> Response:
    (view,) = version_views(db, [registry_service.get(db, version)], viewer)
    return render(
        request,
        "version.html",
        viewer,
        v=view,
        metrics=METRICS,
        charts=[(name, CHART_TITLES[name]) for name in CHART_NAMES],
    )


@router.get("/{version}/charts/{name}.svg")
def chart(db: DbSession, _: UiUser, version: Version, name: str) -> Response:
    """A chart drawn when the version was trained (see ``api.ml.charts``)."""
    if name not in CHART_NAMES:
        raise NotFound(f"no chart {name!r}", code="chart_not_found")
    model = registry_service.get(db, version)
    svg = registry_artifacts.read_chart(model.artifact_uri, name)
    if svg is None:
        raise NotFound(f"model version {version} has no chart {name!r}", code="chart_not_found")
    # A version's charts never change: the browser may keep them.
    headers = {"Cache-Control": "private, max-age=86400, immutable"}
    return Response(svg, media_type="image/svg+xml", headers=headers)
