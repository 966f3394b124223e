"""Admin pages: users and API keys at a glance, alias moves with a confirmation, and the
audit trail of alias changes. Admins only (members get a 403 page)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.auth import api_keys
from api.db.base import MAX_INT_ID, utcnow
from api.dependencies import DbSession
from api.registry import service as registry_service
from api.ui.dependencies import UiAdmin, check_csrf, render
from api.ui.models_pages import METRICS, version_views
from api.users import service as users_service

router = APIRouter(prefix="/ui/admin", include_in_schema=False)


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, db: DbSession, viewer: UiAdmin) -> Response:
    users = users_service.list_users(db)
    keys = api_keys.list_all(db)
    return render(request, "admin_users.html", viewer, users=users, keys=keys, now=utcnow())


@router.get("/aliases", response_class=HTMLResponse)
def aliases_page(request: Request, db: DbSession, viewer: UiAdmin) -> Response:
    names = {user.id: user.username for user in users_service.list_users(db)}
    return render(
        request,
        "admin_aliases.html",
        viewer,
        aliases=sorted(registry_service.all_aliases(db).items()),
        events=registry_service.alias_history(db),
        names=names,
    )


@router.post("/aliases", response_class=HTMLResponse)
def move_alias(
    request: Request,
    db: DbSession,
    viewer: UiAdmin,
    alias: Annotated[str, Form(max_length=64)],
    version: Annotated[int, Form(ge=1, le=MAX_INT_ID)],
    csrf: Annotated[str, Form(max_length=128)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """First post: a page saying what will change (the metrics of both versions);
    the move happens only when that page's button is pressed (``confirm=yes``)."""
    check_csrf(viewer, csrf)
    registry_service.check_alias_name(alias)
    target = registry_service.get(db, version)
    current = registry_service.get_alias(db, alias)
    if confirm != "yes":
        shown = [target] + ([registry_service.get(db, current.version)] if current else [])
        views = version_views(db, shown, viewer)
        return render(
            request,
            "admin_confirm.html",
            viewer,
            alias=alias,
            to=views[0],
            previous=views[1] if len(views) > 1 else None,
            metrics=METRICS,
        )
    registry_service.move_alias(db, alias, target.version, actor_id=viewer.user.id, reason="ui")
    return RedirectResponse("/ui/admin/aliases", status_code=303)
