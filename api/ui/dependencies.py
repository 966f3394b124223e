"""Who is looking at a page, and how pages are rendered.

``UiUser`` is the signed-in user of a page (a redirect to ``/ui/login`` when
there is none); ``UiAdmin`` also requires the admin role. Both read the session
cookie and then the user through the API's credential cache, so the pages see
exactly the accounts, roles and deactivations the API sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from api.auth import service as auth_service
from api.auth.dependencies import credential_caches, user_of_generation
from api.auth.identity import SignedInUser
from api.dependencies import open_sessions
from api.errors import Forbidden, InvalidInput, TasadorError
from api.ui import session as ui_session

TEMPLATES: Final[Jinja2Templates] = Jinja2Templates(
    directory=str(Path(__file__).resolve().parent / "templates")
)


class LoginRequired(Exception):
    """No valid session: the page answers with a redirect to the login form."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRejected(InvalidInput):
    status_code = 403
    code = "csrf_rejected"


@dataclass(frozen=True)
class Viewer:
    """The signed-in user of a page and the CSRF token for its forms."""

    user: SignedInUser
    csrf: str

    @property
    def is_admin(self) -> bool:
        return self.user.is_admin


def login_redirect_target(request: Request) -> str:
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    return "/ui/login?next=" + quote(path, safe="")


async def ui_viewer(request: Request) -> Viewer:
    found = ui_session.read(request.cookies.get(ui_session.COOKIE_NAME))
    if found is None:
        raise LoginRequired(login_redirect_target(request))
    user_id = found.user_id

    def load_user() -> SignedInUser:
        with open_sessions(request)() as db:
            return auth_service.signed_in_user(db, user_id)

    try:
        user = await user_of_generation(
            credential_caches(request), user_id, found.generation, load_user
        )
    except TasadorError as exc:  # the user was deleted or disabled
        raise LoginRequired(login_redirect_target(request)) from exc
    if not user.current(found.generation):  # signed in before the password changed
        raise LoginRequired(login_redirect_target(request))
    request.state.user_id = user.id  # read by the access log
    return Viewer(user, ui_session.csrf_token(found.session_id))


UiUser = Annotated[Viewer, Depends(ui_viewer)]


async def ui_admin(viewer: UiUser) -> Viewer:
    if not viewer.is_admin:
        raise Forbidden("this page is for admins")
    return viewer


UiAdmin = Annotated[Viewer, Depends(ui_admin)]


def check_csrf(viewer: Viewer, presented: str | None) -> None:
    if not ui_session.csrf_matches_token(viewer.csrf, presented):
        raise CsrfRejected("the form has expired or did not come from this site; reload the page")


def render(
    request: Request, template: str, viewer: Viewer | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    page = TEMPLATES.TemplateResponse(
        request, template, {"viewer": viewer, **context}, status_code=status_code
    )
    page.headers.update(PAGE_HEADERS)
    return page


# Pages load nothing from elsewhere and run no inline code, and may not be framed.
PAGE_HEADERS: Final[dict[str, str]] = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
