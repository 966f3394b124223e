"""The OpenAPI document is the truth: a schema-driven fuzzer finds no lie in it.

Schemathesis generates requests for every operation from ``app.openapi()`` (valid
and invalid ones) and sends them in-process to the app, as an admin and as a
member. Every answer must be documented for its route (status, content type,
body schema and headers) and none may be a server error. The examples are
bounded (``EXAMPLES`` per operation and principal), so the run stays short.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import CheckFunction
from schemathesis.generation.case import Case
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.main import create_app
from tests.fixtures.db import HeadersFor, MakeUser

# Per operation and principal; CONTRACT_EXAMPLES=200 makes a longer hunt.
EXAMPLES = int(os.environ.get("CONTRACT_EXAMPLES", "20"))
# Every check but one: "a request the schema allows is accepted". Some rules are
# the data's, not the request's shape (an object that must exist and be a CSV, a
# sector that is not blank, a time range in order); they answer a documented
# 4xx with the envelope, which the other checks hold to the document.
_NOT_CHECKED: list[CheckFunction] = [positive_data_acceptance]

_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def _request_kwargs(case: Case[Any], headers: dict[str, str]) -> dict[str, Any]:
    """The case as keyword arguments of ``TestClient.request`` (an httpx client)."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    kwargs.pop("auth", None)
    data = kwargs.pop("data", None)
    if isinstance(data, (bytes, str)):
        kwargs["content"] = data
    elif data is not None:
        kwargs["data"] = data
    if (
        kwargs.get("files") is not None
    ):  # httpx takes bytes or file objects only, not an int or a list
        files = kwargs["files"]
        items = files.items() if isinstance(files, dict) else files
        kwargs["files"] = [(name, _file_part(part)) for name, part in items]
    else:
        kwargs.pop("files", None)
    return kwargs


def _file_part(part: Any) -> Any:
    if isinstance(part, tuple):
        return (part[0], _file_part(part[1]), *part[2:])
    if isinstance(part, (bytes, str)) or hasattr(part, "read"):
        return part
    return str(part).encode()


def _summary(exc: BaseException) -> str:
    """The failure's titles and the request that shows it, without the long bodies."""
    text = str(exc)
    lines = [line for line in text.splitlines() if line.strip()]
    return "\n".join(line[:300] for line in lines[:14])


def _operations(app_schema: dict[str, Any]) -> Iterator[Any]:
    schema = schemathesis.openapi.from_dict(app_schema)
    for result in schema.get_all_operations():
        yield result.ok()  # type: ignore[union-attr]


@pytest.fixture
def principals(make_user: MakeUser, auth_headers_for: HeadersFor) -> dict[str, dict[str, str]]:
    return {
        "admin": auth_headers_for(make_user(role="admin")[0]),
        "member": auth_headers_for(make_user(role="member")[0]),
    }


@pytest.mark.parametrize("role", ["admin", "member"])
def test_every_answer_is_documented(
    client: TestClient, principals: dict[str, dict[str, str]], role: str
) -> None:
    headers = principals[role]
    failures: list[str] = []
    for operation in _operations(client.app.openapi()):  # type: ignore[attr-defined]
        strategy = st.one_of(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        )

        @_SETTINGS
        @given(case=strategy)
        def check(case: Case[Any]) -> None:
            response = client.request(**_request_kwargs(case, headers))
            case.validate_response(response, headers=headers, excluded_checks=_NOT_CHECKED)

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # one report per operation
            failures.append(f"{operation.label}: {_summary(exc)}")
    assert not failures, "\n\n".join(failures[:30])


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_every_reference_resolves() -> None:
    doc = create_app().openapi()
    for ref in set(_refs(doc)):
        assert ref.startswith("#/"), ref
        target: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            assert isinstance(target, dict) and part in target, f"{ref} resolves nowhere"
            target = target[part]
    assert "HTTPValidationError" not in json.dumps(doc)
    assert not [name for name in doc["components"]["schemas"] if name.startswith("Body_")]


def test_every_error_is_the_envelope() -> None:
    doc = create_app().openapi()
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (path, method, status)
    metrics = doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(metrics) == ["text/plain"]
