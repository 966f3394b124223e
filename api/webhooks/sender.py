"""One HTTP attempt at a webhook: POST, read a little, report what happened.

Nothing here touches the database, so the outcome of an attempt can be tested
against a plain HTTP server, and no transaction is held open while a slow
receiver keeps us waiting.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass

import httpcore
import httpx

from api.webhooks.ssrf import (
    AllowList,
    BlockedDestination,
    IPAddress,
    check_address,
    literal_address,
)

RESPONSE_SNIPPET_BYTES = 1024
USER_AGENT = "Tasador-Webhooks/1"


@dataclass(frozen=True)
class SendPolicy:
    connect_timeout: float
    read_timeout: float
    allow: AllowList


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int
    snippet: str | None
    blocked: bool = False

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class GuardedBackend(httpcore.NetworkBackend):
    """Resolves the host itself, checks every address, then connects to one.

    Connecting to the very address that was checked (rather than letting the
    socket layer resolve the name again) closes the DNS-rebinding gap. TLS
    still verifies the certificate against the URL's host name, because
    httpcore passes that name to ``start_tls`` separately.
    """

    def __init__(self, allow: AllowList) -> None:
        self._allow = allow
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = self._resolve(host, port)
        for address in addresses:
            check_address(host, address, self._allow)
        last: Exception | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    @staticmethod
    def _resolve(host: str, port: int) -> list[IPAddress]:
        literal = literal_address(host)
        if literal is not None:
            return [literal]
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror}") from exc
        seen: list[IPAddress] = []
        for info in infos:
            address = literal_address(str(info[4][0]).split("%", 1)[0])
            if address is not None and address not in seen:
                seen.append(address)
        if not seen:
            raise httpcore.ConnectError(f"{host} resolves to no address")
        return seen

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise BlockedDestination("webhooks are never sent over unix sockets")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's own transport, with its connection pool on the guarded backend."""

    def __init__(self, allow: AllowList) -> None:
        super().__init__(trust_env=False)
        # httpx has no public hook for the network backend; the pool it builds
        # is replaced by an identical one that connects through the guard.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=1,
            network_backend=GuardedBackend(allow),
        )


def send(url: str, body: bytes, headers: dict[str, str], policy: SendPolicy) -> Outcome:
    """POST ``body`` once. Redirects are reported, never followed."""
    timeout = httpx.Timeout(
        connect=policy.connect_timeout,
        read=policy.read_timeout,
        write=policy.read_timeout,
        pool=policy.connect_timeout,
    )
    request_headers = {
        **headers,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
    started = time.perf_counter()

    def elapsed() -> int:
        return round((time.perf_counter() - started) * 1000)

    try:
        with (
            httpx.Client(
                transport=GuardedTransport(policy.allow),
                timeout=timeout,
                follow_redirects=False,
                trust_env=False,
            ) as client,
            client.stream("POST", url, content=body, headers=request_headers) as response,
        ):
            snippet = _read_snippet(response)
            error = None
            if response.is_redirect:
                where = response.headers.get("location", "?")
                error = f"redirect to {where} not followed; point callback_url at the final URL"
            return Outcome(response.status_code, error, elapsed(), snippet)
    except BlockedDestination as exc:
        return Outcome(None, f"blocked_destination: {exc}", elapsed(), None, blocked=True)
    except httpx.InvalidURL as exc:
        # Not retried: the same URL will never parse (submit refuses such URLs now).
        return Outcome(None, f"invalid_url: {exc}", elapsed(), None, blocked=True)
    except httpx.TimeoutException as exc:
        return Outcome(None, f"timeout: {_describe(exc)}", elapsed(), None)
    except httpx.TransportError as exc:
        return Outcome(None, f"connection_error: {_describe(exc)}", elapsed(), None)
    except httpx.HTTPError as exc:
        return Outcome(None, f"request_error: {_describe(exc)}", elapsed(), None)


def _read_snippet(response: httpx.Response) -> str | None:
    """At most ``RESPONSE_SNIPPET_BYTES`` of the body; the rest is never read."""
    collected = b""
    try:
        for chunk in response.iter_bytes():
            collected += chunk
            if len(collected) >= RESPONSE_SNIPPET_BYTES:
                break
    except httpx.HTTPError:
        pass  # the status already arrived; a broken body does not change it
    if not collected:
        return None
    return collected[:RESPONSE_SNIPPET_BYTES].decode("utf-8", errors="replace")


def _describe(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"
