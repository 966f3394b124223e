"""A real API process for the attacks that need one, and a client that streams bodies.

Memory growth, what reaches the disk, how much of a body the server reads and
what a parallel burst does can only be seen against a real uvicorn process: the
test client buffers whole bodies and runs requests one at a time. The raw
client writes a body in chunks on a plain socket and stops as soon as the
server answers or closes the connection, so it measures how much of the body
the server let in.
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ApiProcess:
    url: str
    port: int
    process: subprocess.Popen[bytes]

    def rss_bytes(self) -> int:
        """Resident memory of the server process now."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
        return int(line.split()[1]) * 1024


def start_api(env: Mapping[str, str]) -> ApiProcess:
    """``api.main:create_app`` under uvicorn on a free port, with ``env`` added."""
    port = free_port()
    argv = [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **env})
    api = ApiProcess(f"http://127.0.0.1:{port}", port, process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the API process exited with {process.returncode}")
        try:
            if httpx.get(f"{api.url}/healthz", timeout=1).status_code == 200:
                return api
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    stop_api(api)
    raise RuntimeError("the API process did not start within 60 s")


def stop_api(api: ApiProcess) -> None:
    api.process.terminate()
    try:
        api.process.wait(15)
    except subprocess.TimeoutExpired:
        api.process.kill()
        api.process.wait(5)


@dataclass
class StreamResult:
    status: int | None  # None: the server closed without answering
    body: bytes
    sent_bytes: int
    seconds: float


def _answered(sock: socket.socket, wait: float = 0.0) -> bool:
    readable, _, _ = select.select([sock], [], [], wait)
    return bool(readable)


def stream_body(
    port: int,
    path: str,
    *,
    total_bytes: int,
    chunk: bytes,
    headers: Mapping[str, str] | None = None,
    prefix: bytes = b"",
    chunked: bool = False,
    between_chunks: Callable[[], None] | None = None,
    timeout: float = 15.0,
) -> StreamResult:
    """POST a body of ``prefix`` + repeated ``chunk`` (``total_bytes`` in all).

    With ``chunked`` no Content-Length is declared (Transfer-Encoding: chunked);
    otherwise the full length is announced up front. Sending stops when the
    server answers or the connection breaks; ``between_chunks`` runs after each
    chunk written (to sample the server's disk, for example).
    """
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {total_bytes}")
    started = time.monotonic()
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        pieces = _pieces(prefix, chunk, total_bytes)
        try:
            # A server may answer from the headers alone; give it a moment to.
            for index, piece in enumerate(pieces):
                if _answered(sock, wait=0.3 if index == 0 else 0.0):
                    break
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
                if between_chunks is not None:
                    between_chunks()
            else:
                if chunked:
                    sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the server closed (or stopped reading): what it answered is still readable
        status, body = _read_response(sock)
    return StreamResult(status, body, sent, time.monotonic() - started)


def _pieces(prefix: bytes, chunk: bytes, total: int) -> Iterator[bytes]:
    if prefix:
        yield prefix
    left = total - len(prefix)
    while left > 0:
        piece = chunk[:left]
        yield piece
        left -= len(piece)


def _read_response(sock: socket.socket) -> tuple[int | None, bytes]:
    data = b""
    try:
        while True:
            received = sock.recv(65536)
            if not received:
                break
            data += received
            head, sep, rest = data.partition(b"\r\n\r\n")
            if sep and _complete(head, rest):
                break
    except (ConnectionResetError, TimeoutError):
        pass
    if not data.startswith(b"HTTP/1.1 "):
        return None, data
    head, _, rest = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), rest


def _complete(head: bytes, rest: bytes) -> bool:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(rest) >= int(value)
    return False
