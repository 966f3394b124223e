"""/docs and /redoc work on a machine without internet access.

Each page is fetched from the app, then every script, stylesheet, icon and spec
it references is fetched from the app too: all must answer 200, and none may
point outside the service (no scheme, no host). No database is needed: the
pages and their assets are served without a session, and the lifespan (which
starts the alias refresher) is not entered.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from api.main import create_app

# Attributes through which a page makes the browser load something.
LOADING_ATTRIBUTES = {("script", "src"), ("link", "href"), ("img", "src"), ("redoc", "spec-url")}


class References(HTMLParser):
    """Every URL a page's tags load, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if (tag, name) in LOADING_ATTRIBUTES and value:
                self.urls.append((tag, value))


def references(html: str) -> list[tuple[str, str]]:
    parser = References()
    parser.feed(html)
    # Swagger UI reads the spec from a script literal (`url: '/openapi.json'`).
    parser.urls += [("spec", url) for url in re.findall(r"\burl: '([^']*)'", html)]
    return parser.urls


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app())


def _fetch_page_and_assets(client: TestClient, page: str) -> dict[str, str]:
    """Fetch ``page`` and everything it loads; answer {url: content-type}."""
    answer = client.get(page)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert not re.search(r"https?://", answer.text), "the page names an outside address"
    loaded: dict[str, str] = {}
    for tag, url in references(answer.text):
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{page}: <{tag}> loads {url} from outside"
        assert url.startswith("/"), f"{page}: <{tag}> loads {url!r}, not a path of the service"
        asset = client.get(url)
        assert asset.status_code == 200, f"{page}: {url} answers {asset.status_code}"
        assert asset.content, f"{page}: {url} is empty"
        loaded[url] = asset.headers["content-type"]
    return loaded


def test_swagger_ui_and_everything_it_loads_come_from_the_service(client: TestClient) -> None:
    loaded = _fetch_page_and_assets(client, "/docs")
    kinds = sorted(kind.split(";")[0] for kind in loaded.values())
    # The bundle, its stylesheet, the favicon and the spec itself.
    assert kinds == ["application/json", "image/png", "text/css", "text/javascript"], loaded


def test_redoc_and_everything_it_loads_come_from_the_service(client: TestClient) -> None:
    loaded = _fetch_page_and_assets(client, "/redoc")
    kinds = sorted(kind.split(";")[0] for kind in loaded.values())
    assert kinds == ["application/json", "image/png", "text/javascript"], loaded


def test_the_served_scripts_are_the_real_bundles(client: TestClient) -> None:
    # A 200 with a stub would render nothing; these names are what the pages call.
    assert b"SwaggerUIBundle" in client.get("/static/docs/swagger-ui-bundle.js").content
    assert b"Redoc" in client.get("/static/docs/redoc.standalone.js").content


def test_the_oauth2_redirect_page_is_served(client: TestClient) -> None:
    answer = client.get("/docs/oauth2-redirect")
    assert answer.status_code == 200
    assert "oauth2" in answer.text.lower()
    assert not re.search(r"https?://", answer.text)


def test_a_proxy_prefix_reaches_every_reference() -> None:
    # Mounted under /tasador by a proxy, the pages must load from there, not from /.
    prefixed = TestClient(create_app(), root_path="/tasador")
    for page in ("/docs", "/redoc"):
        urls = [url for _, url in references(prefixed.get(page).text)]
        assert urls and all(url.startswith("/tasador/") for url in urls), urls


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _references(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _references(item)]
    return []


def test_every_reference_in_the_openapi_document_resolves(client: TestClient) -> None:
    # An unresolvable $ref leaves a body blank in Swagger UI and stops ReDoc altogether.
    document = client.get("/openapi.json").json()
    unresolved = []
    for ref in set(_references(document)):
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            node = node.get(part) if isinstance(node, dict) else None
        if not ref.startswith("#/") or node is None:
            unresolved.append(ref)
    assert unresolved == []
    body = document["paths"]["/v1/predictions"]["post"]["requestBody"]
    instance = body["content"]["application/json"]["schema"]["properties"]["instances"]["items"]
    assert set(instance["properties"]) >= {"type", "sector", "net_usable_area", "latitude"}
