"""callback_url is checked at submit time, with a message that says what is wrong."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.config import get_settings
from api.errors import InvalidInput
from api.webhooks.urls import check_callback_url


@pytest.fixture
def https_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("TASADOR_WEBHOOK_ALLOW_HTTP", raising=False)
    monkeypatch.delenv("TASADOR_WEBHOOK_ALLOWED_HOSTS", raising=False)
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.example.com/x", "must use https (plain http is disabled"),
        ("ftp://hooks.example.com/x", "must use https, not scheme 'ftp'"),
        ("hooks.example.com/x", "must use https, not scheme 'none'"),
        ("https:///just-a-path", "has no host"),
        ("https://user:pw@hooks.example.com/x", "must not contain credentials"),
        ("https://hooks.example.com/x#frag", "must not contain a #fragment"),
        ("https://hooks.example.com:99999/x", "cannot be parsed"),
        # Octal and non-ASCII digit hosts: the sender's parser refuses them, so
        # they were accepted here and then failed at delivery without an attempt.
        ("https://0177.0.0.1/x", "cannot be parsed"),
        ("https://\u2460\u2461\u2466.0.0.1/x", "cannot be parsed"),
        ("https://hooks.example.com/a b", "whitespace or control characters"),
        ("https://127.0.0.1/x", "points at 127.0.0.1, a loopback address"),
        ("https://[::1]/x", "points at ::1, a loopback address"),
        ("https://169.254.169.254/latest", "a cloud metadata address"),
        ("https://10.0.0.5/x", "a private address"),
        ("https://localhost:8080/x", "a loopback name"),
        ("https://hooks.example.com/" + "a" * 2100, "longer than 2048"),
    ],
)
def test_bad_callback_urls_are_refused_with_a_precise_reason(
    https_only: None, url: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_callback_url(url)
    assert caught.value.code == "invalid_callback_url"
    assert caught.value.status_code == 422
    assert message in caught.value.message, caught.value.message


def test_public_https_url_is_accepted_without_any_dns_lookup(https_only: None) -> None:
    # .invalid never resolves (RFC 2606): passing shows that no lookup happens.
    url = "https://hooks.example.invalid:8443/tasador?src=jobs"
    assert check_callback_url(url) == url


def test_http_and_allow_listed_loopback_are_accepted_when_configured(
    webhook_env: dict[str, str],
) -> None:
    assert check_callback_url("http://127.0.0.1:9000/hook")
    with pytest.raises(InvalidInput, match="a private address"):
        check_callback_url("http://192.168.0.10/hook")
