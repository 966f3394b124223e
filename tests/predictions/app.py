"""The application with the predictions routes and serving lifespan.

``api.main.create_app`` wires them (and the registry routes) itself once
integrated; until then this adds them, so these tests and the uvicorn processes
they start run either way.
"""

from __future__ import annotations

from fastapi import FastAPI

from api.main import create_app as create_main_app
from api.predictions.endpoints import router
from api.predictions.serving import serving_lifespan
from api.registry.endpoints import router as registry_router


def create_app() -> FastAPI:
    app = create_main_app()
    paths = {getattr(route, "path", None) for route in app.routes}
    if "/v1/predictions" not in paths:
        app.include_router(router)
        app.router.lifespan_context = serving_lifespan
    if "/v1/models" not in paths:
        app.include_router(registry_router)
    return app
