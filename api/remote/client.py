"""The HTTP side of ``tasador remote``: a saved login and calls that raise on errors.

The login (address, username, access and refresh tokens) is kept in a JSON
file readable by its owner only: ``$TASADOR_REMOTE_CONFIG``, or
``~/.config/tasador/remote.json``. An access token that expired is renewed
once with the refresh token, and the new pair saved.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import httpx

FINAL_STATES: Final = frozenset({"succeeded", "failed", "cancelled"})
TIMEOUT: Final = httpx.Timeout(60.0, connect=10.0)


class RemoteError(Exception):
    """An answer other than success, or no answer. ``status`` is 0 for no answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}" if status else message)
        self.status, self.code, self.message = status, code, message

    @property
    def is_bad_input(self) -> bool:
        """A refusal of what was asked (a 4xx), rather than a failure to answer."""
        return 400 <= self.status < 500


def config_path() -> Path:
    given = os.environ.get("TASADOR_REMOTE_CONFIG")
    return Path(given) if given else Path.home() / ".config" / "tasador" / "remote.json"


@dataclass
class Login:
    url: str
    username: str
    access_token: str
    refresh_token: str

    @classmethod
    def load(cls) -> Login:
        path = config_path()
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise RemoteError(
                0, "not_logged_in", "not logged in: run 'tasador remote login'"
            ) from None
        except (ValueError, TypeError) as exc:
            raise RemoteError(0, "bad_config", f"{path} is not a saved login: {exc}") from None

    def save(self) -> Path:
        path = config_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump(asdict(self), out)
        return path


def _raise_for(answer: httpx.Response) -> None:
    if answer.is_success:
        return
    try:
        error = answer.json()["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        code, message = "http_error", answer.text[:200] or answer.reason_phrase
    raise RemoteError(answer.status_code, code, message)


def log_in(url: str, username: str, password: str) -> Login:
    with _http(url) as http:
        answer = http.post("/v1/auth/token", data={"username": username, "password": password})
        _raise_for(answer)
    tokens = answer.json()
    return Login(url.rstrip("/"), username, tokens["access_token"], tokens["refresh_token"])


class _http(httpx.Client):  # noqa: N801 (used like a function)
    def __init__(self, url: str) -> None:
        super().__init__(base_url=url, timeout=TIMEOUT)

    def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        try:
            return super().send(request, **kwargs)
        except httpx.TransportError as exc:
            raise RemoteError(0, "unreachable", f"{request.url}: {exc}") from None


class Remote:
    """Calls as the saved login."""

    def __init__(self, login: Login) -> None:
        self.login = login
        self.http = _http(login.url)

    def __enter__(self) -> Remote:
        return self

    def __exit__(self, *_: object) -> None:
        self.http.close()

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        answer = self._send(method, path, **kwargs)
        if answer.status_code == 401 and self._renewed():
            answer = self._send(method, path, **kwargs)
        _raise_for(answer)
        return answer

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.call(method, path, **kwargs).json()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.login.access_token}"}
        return self.http.request(method, path, headers=headers, **kwargs)

    def _renewed(self) -> bool:
        answer = self.http.post(
            "/v1/auth/refresh", json={"refresh_token": self.login.refresh_token}
        )
        if not answer.is_success:
            return False
        tokens = answer.json()
        self.login.access_token = tokens["access_token"]
        self.login.refresh_token = tokens["refresh_token"]
        self.login.save()
        return True

    def wait(
        self, job_id: str, on_progress: Callable[[dict[str, Any]], None], poll: float = 1.0
    ) -> dict[str, Any]:
        """Poll a job until it ends, reporting each answer; the final job."""
        while True:
            job: dict[str, Any] = self.json("GET", f"/v1/jobs/{job_id}")
            on_progress(job)
            if job["status"] in FINAL_STATES:
                return job
            time.sleep(poll)

    def download(self, path: str) -> Iterator[bytes]:
        headers = {"Authorization": f"Bearer {self.login.access_token}"}
        with self.http.stream("GET", path, headers=headers) as answer:
            if not answer.is_success:
                answer.read()
                _raise_for(answer)
            yield from answer.iter_bytes()
