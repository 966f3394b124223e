"""A TCP proxy to S3 that freezes its client right after its first object write.

The dangerous moment for fencing is an attempt that has *written* an output and
then stalls (a SIGSTOP, a long GC pause, a frozen VM) while another worker takes
the job over. Hitting that moment by polling is luck: the window between the
write and the end of the job is milliseconds. So one worker talks to S3 through
this proxy, which calls ``on_write`` (the test's SIGSTOP) when the answer to the
first request that completes an object arrives: the object is stored, but the
paused worker has not seen the answer yet.

A request "completes an object" when it is a ``PUT`` of a key that is not a
multipart part, or the ``POST ...?uploadId=`` that completes a multipart upload.
The stream is scanned for request lines only; bodies pass through untouched.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Callable

_COMPLETES_OBJECT = re.compile(
    rb"(?m)^(?:PUT /[^/\s]+/(?P<put>[^\s?]+)(?P<query>\?\S*)?"
    rb"|POST /[^/\s]+/[^\s?]+\?(?P<post>\S*uploadId=\S*)) HTTP/1\.[01]\r$"
)
_SUCCESS = re.compile(rb"HTTP/1\.[01] 2\d\d ")


def completes_object(data: bytes) -> bool:
    for match in _COMPLETES_OBJECT.finditer(data):
        if match["post"] is not None:
            return True
        if b"partNumber=" not in (match["query"] or b""):
            return True
    return False


class PausingProxy:
    """Listens on ``port``; forwards to ``upstream``; fires ``on_write`` once."""

    def __init__(self, upstream: tuple[str, int], on_write: Callable[[], None]) -> None:
        self.upstream = upstream
        self.on_write = on_write
        self.fired = threading.Event()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._sockets: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, name="pausing-proxy", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._closed = True
        for sock in [self._listener, *self._sockets]:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self._sockets += [client, server]
            armed = threading.Event()
            threading.Thread(
                target=self._requests, args=(client, server, armed), daemon=True
            ).start()
            threading.Thread(
                target=self._answers, args=(server, client, armed), daemon=True
            ).start()

    def _requests(self, src: socket.socket, dst: socket.socket, armed: threading.Event) -> None:
        self._pump(src, dst, lambda data: armed.set() if completes_object(data) else None)

    def _answers(self, src: socket.socket, dst: socket.socket, armed: threading.Event) -> None:
        def check(data: bytes) -> None:
            if armed.is_set() and _SUCCESS.search(data):
                with self._lock:
                    if not self.fired.is_set():
                        self.on_write()  # before the client can read the answer
                        self.fired.set()
                armed.clear()

        self._pump(src, dst, check)

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, inspect: Callable[[bytes], None]) -> None:
        try:
            while data := src.recv(65536):
                inspect(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
