"""``install_ui(app)``: the web interface's pages, its static files and its error pages.

Errors on a page are shown as a page (status kept), not as the API's JSON
envelope; a page that needs a session redirects to the login form.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import TasadorError
from api.ui import account_pages, admin_pages, jobs_pages, models_pages, predict_page
from api.ui.dependencies import LoginRequired, render

STATIC_DIR: Final[Path] = Path(__file__).resolve().parent / "static"
UI_PREFIX: Final[str] = "/ui"


def _is_page(request: Request) -> bool:
    path = request.url.path
    return path == UI_PREFIX or path.startswith(UI_PREFIX + "/")


def install_ui(app: FastAPI) -> None:
    """Add the ``/ui`` pages to ``app`` (after its API error handlers are installed)."""
    app.mount(f"{UI_PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="ui-static")
    for router in (
        account_pages.router,
        models_pages.router,
        jobs_pages.router,
        predict_page.router,
        admin_pages.router,
    ):
        app.include_router(router)

    api_handlers = dict(app.exception_handlers)

    async def login_required(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return RedirectResponse(exc.next_path, status_code=303)

    def page_or_api(kind: type[Exception]) -> None:
        api_handler = api_handlers[kind]

        async def handler(request: Request, exc: Exception) -> Response:
            if not _is_page(request):
                return await api_handler(request, exc)  # type: ignore[no-any-return]
            status, message = 500, "Something went wrong; it was logged."
            if isinstance(exc, TasadorError):
                status, message = exc.status_code, exc.message
            elif isinstance(exc, StarletteHTTPException):
                status, message = exc.status_code, str(exc.detail)
            elif isinstance(exc, RequestValidationError):
                status, message = 422, "The address or form has a value this page cannot use."
            return render(request, "error.html", None, status, status=status, message=message)

        app.add_exception_handler(kind, handler)

    app.add_exception_handler(LoginRequired, login_required)
    for kind in (TasadorError, StarletteHTTPException, RequestValidationError):
        page_or_api(kind)
