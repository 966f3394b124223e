"""The ``Allow`` header of a ``405``: every method the path answers.

Starlette's ``405`` names the methods of the first route that matched the path
only, so ``OPTIONS /v1/api-keys`` (a ``POST`` route and a ``GET`` route) said
``Allow: POST``. Here every route of the app is asked.
"""

from __future__ import annotations

from fastapi.routing import iter_route_contexts
from starlette.requests import Request
from starlette.routing import Match


def allowed_methods(request: Request) -> list[str]:
    scope = {**request.scope, "method": "GET"}  # a route matches a path, whatever its method
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        route_methods = route.methods
        if not route_methods:
            continue
        match, _ = route.matches(scope)
        if match != Match.NONE:
            methods |= set(route_methods)
    return sorted(methods)
