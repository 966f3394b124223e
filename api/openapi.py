"""The OpenAPI document, made true to what the service answers.

FastAPI's generated document documents a ``422 HTTPValidationError`` the API
never sends (every error is the envelope of ``api.errors``), leaves out the
statuses that come from a route's dependencies, and can hold ``#/$defs/...``
references that resolve nowhere. ``openapi_document`` generates the document
and then, for every route, from what the route declares:

- signed-in routes (``CurrentUser``) answer ``401``, admin-only and
  password-only routes ``403``; any route with parameters or a body ``422``; a
  route with path parameters ``404``; a route with a body ``413``; a route
  that reaches the database or the credential cache ``503``;
- every error status is described by the one ``Error`` schema;
- every ``$defs`` block is moved into ``components/schemas`` and its
  references rewritten, so each ``$ref`` resolves;
- ``/metrics`` is ``text/plain``.

A new route therefore needs at most ``responses=errors(...)`` for the statuses
of its own logic (``409``, a ``404`` without a path parameter, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import RouteContext, iter_route_contexts

from api.auth.dependencies import admin_user, current_user, logged_in_user
from api.dependencies import get_session
from api.error_docs import DEFAULT_DESCRIPTIONS, Error

_COMPONENTS = "#/components/schemas/"
_ERROR_REF = {"$ref": f"{_COMPONENTS}Error"}
_FASTAPI_ONLY = ("HTTPValidationError", "ValidationError")
_TEXT_ROUTES = {"/metrics"}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def implied_statuses(dependant: Dependant, operation: dict[str, Any]) -> list[int]:
    """The error statuses a route answers because of what it declares."""
    calls = set(_calls(dependant))
    has_body = bool(dependant.body_params) or "requestBody" in operation
    has_params = has_body or bool(
        dependant.path_params
        or dependant.query_params
        or dependant.header_params
        or dependant.cookie_params
    )
    statuses = []
    if current_user in calls:
        statuses.append(401)
    if calls & {admin_user, logged_in_user}:
        statuses.append(403)
    if dependant.path_params:
        statuses.append(404)
    if has_body:
        statuses.append(413)
    if has_params:
        statuses.append(422)
    if calls & {current_user, get_session}:
        statuses.append(503)
    return statuses


def _hoist_defs(node: Any, schemas: dict[str, Any]) -> Any:
    """``node`` with every ``$defs`` moved into ``schemas`` and its refs rewritten."""
    if isinstance(node, list):
        return [_hoist_defs(item, schemas) for item in node]
    if not isinstance(node, dict):
        return node
    for name, schema in node.get("$defs", {}).items():
        schemas.setdefault(name, _hoist_defs(schema, schemas))
    out = {key: _hoist_defs(value, schemas) for key, value in node.items() if key != "$defs"}
    ref = out.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        out["$ref"] = _COMPONENTS + ref.removeprefix("#/$defs/")
    return out


def _document_errors(operation: dict[str, Any], statuses: list[int]) -> None:
    responses = operation.setdefault("responses", {})
    for status in statuses:
        responses.setdefault(str(status), {"description": DEFAULT_DESCRIPTIONS[status]})
    for status, response in responses.items():
        if status.isdigit() and int(status) >= 400:
            if response.get("description") == "Validation Error":  # FastAPI's own
                response["description"] = DEFAULT_DESCRIPTIONS[422]
            response["content"] = {"application/json": {"schema": dict(_ERROR_REF)}}
    # Listed in status order, as a reader expects.
    operation["responses"] = dict(sorted(responses.items()))


def _plain_text(operation: dict[str, Any]) -> None:
    ok = operation.get("responses", {}).get("200", {})
    ok["content"] = {"text/plain": {"schema": {"type": "string"}}}


def _document_route(doc: dict[str, Any], route: RouteContext) -> None:
    dependant = getattr(route, "dependant", None)
    path = route.path_format
    if not isinstance(dependant, Dependant) or path not in doc["paths"]:
        return
    for method in route.methods or ():
        operation = doc["paths"][path].get(method.lower())
        if operation is None:
            continue
        _document_errors(operation, implied_statuses(dependant, operation))
        if path in _TEXT_ROUTES:
            _plain_text(operation)


def _readable_name(name: str) -> str:
    """``Body_log_in_v1_auth_token_post`` (FastAPI's name for a form) -> ``LogInForm``."""
    function = name.removeprefix("Body_").split("_v1_")[0]
    return "".join(word.capitalize() for word in function.split("_")) + "Form"


def _rename(node: Any, names: dict[str, str]) -> Any:
    if isinstance(node, list):
        return [_rename(item, names) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _rename(value, names) for key, value in node.items()}
    ref = out.get("$ref")
    if isinstance(ref, str) and ref.startswith(_COMPONENTS):
        out["$ref"] = _COMPONENTS + names.get(
            ref.removeprefix(_COMPONENTS), ref[len(_COMPONENTS) :]
        )
    return out


def _readable_names(doc: dict[str, Any]) -> dict[str, Any]:
    schemas = doc["components"]["schemas"]
    names = {name: _readable_name(name) for name in schemas if name.startswith("Body_")}
    if not names:
        return doc
    for old, new in names.items():
        schemas[new] = schemas.pop(old)
        schemas[new]["title"] = new
    renamed: dict[str, Any] = _rename(doc, names)
    return renamed


def make_truthful(doc: dict[str, Any], routes: list[Any]) -> dict[str, Any]:
    components = doc.setdefault("components", {})
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    error_schema = Error.model_json_schema(ref_template=_COMPONENTS + "{model}")
    schemas["Error"] = _hoist_defs(error_schema, schemas)
    for route in iter_route_contexts(routes):
        _document_route(doc, route)
    paths = _hoist_defs(doc["paths"], schemas)
    doc["paths"] = paths
    for name in list(schemas):
        schemas[name] = _hoist_defs(schemas[name], schemas)
    for name in _FASTAPI_ONLY:
        schemas.pop(name, None)
    return _readable_names(doc)


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """``app.openapi`` for this service: generated once, then made truthful."""
    if app.openapi_schema is None:
        doc = get_openapi(
            title=app.title,
            version=app.version,
            openapi_version=app.openapi_version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
            servers=app.servers,
        )
        app.openapi_schema = make_truthful(doc, app.routes)
    return app.openapi_schema


def install_openapi(app: FastAPI) -> None:
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
