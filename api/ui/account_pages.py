"""Signing in to and out of the web interface with a username and password."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.auth import service as auth_service
from api.auth import throttle
from api.auth.dependencies import ClientAddress
from api.auth.errors import InvalidCredentials
from api.dependencies import DbSession
from api.errors import TasadorError
from api.logging import get_logger
from api.ui import session as ui_session
from api.ui.dependencies import UiUser, check_csrf, render

router = APIRouter(prefix="/ui", include_in_schema=False)
log = get_logger("api.audit")

_LOGIN_NONCE_SECONDS = 3600


def _safe_next(target: str | None) -> str:
    """Only a path inside the interface: a login link must not send anyone elsewhere."""
    if target and target.startswith("/ui/") and not target.startswith("//"):
        return target
    return "/ui/models"


def _login_page(request: Request, next_path: str, error: str | None, status: int) -> Response:
    nonce = ui_session.new_login_nonce()
    response = render(
        request, "login.html", None, status, next_path=next_path, csrf=nonce, error=error
    )
    response.set_cookie(
        ui_session.LOGIN_CSRF_COOKIE,
        nonce,
        max_age=_LOGIN_NONCE_SECONDS,
        path="/ui/login",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("", response_class=RedirectResponse)
def home() -> RedirectResponse:
    return RedirectResponse("/ui/models", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> Response:
    return _login_page(request, _safe_next(next), None, 200)


@router.post("/login", response_class=HTMLResponse)
async def log_in(
    request: Request,
    session: DbSession,
    client: ClientAddress,
    username: Annotated[str, Form(max_length=256)],
    password: Annotated[str, Form(max_length=1024)],
    csrf: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=2048)] = "",
) -> Response:
    """The same login as ``POST /v1/auth/token`` (throttle, timing, audit log),
    answered with a session cookie instead of tokens."""
    target = _safe_next(next)
    expected = request.cookies.get(ui_session.LOGIN_CSRF_COOKIE)
    if not expected or not ui_session.csrf_matches_token(expected, csrf):
        return _login_page(request, target, "The form expired: please sign in again.", 403)

    def admit() -> throttle.Ticket:
        ticket = auth_service.start_login(session, username, client)
        session.commit()  # counted before the password is checked, as in the API
        return ticket

    try:
        ticket = await run_in_threadpool(admit)
        if ticket.delay_seconds:
            await asyncio.sleep(ticket.delay_seconds)
        user = await run_in_threadpool(
            auth_service.check_login, session, ticket, username, password
        )
        log.info("ui_login_succeeded", user_id=user.id, client=client)
    except InvalidCredentials:
        return _login_page(request, target, "Wrong username or password.", 401)
    except TasadorError as exc:  # too many attempts
        return _login_page(request, target, exc.message, exc.status_code)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        ui_session.COOKIE_NAME,
        ui_session.issue(user.id, generation=user.credentials_generation),
        max_age=int(ui_session.SESSION_LIFETIME.total_seconds()),
        path="/ui",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    response.delete_cookie(ui_session.LOGIN_CSRF_COOKIE, path="/ui/login")
    return response


@router.post("/logout", response_class=RedirectResponse)
def log_out(viewer: UiUser, csrf: Annotated[str, Form(max_length=128)] = "") -> Response:
    check_csrf(viewer, csrf)
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(ui_session.COOKIE_NAME, path="/ui")
    return response
