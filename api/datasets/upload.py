"""Receiving a dataset upload: the multipart body streamed to a temporary file, bounded.

FastAPI's ``File``/``Form`` parameters read and spool the whole body before any
dependency runs, so an anonymous caller could make the server write hundreds
of megabytes to disk before its 401. The upload route therefore authenticates
from the headers first and then reads the body through this parser, which
writes the file part as it arrives and refuses it (``413``) as soon as it would
pass the limit: at most the limit is ever written. Parts, fields and their
headers are bounded too, so no other part of the body can grow without limit.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Final

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from api.errors import InvalidInput, PayloadTooLarge

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

FILE_FIELD: Final[str] = "file"
MAX_PARTS: Final[int] = 8
MAX_FIELD_BYTES: Final[int] = 4096  # a text field such as ``name``
_HELP = "send the CSV as multipart/form-data with a `file` part (and an optional `name`)"


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_upload")


@dataclass
class ReceivedUpload:
    """The uploaded file (a temporary file, rewound; close it) and the text fields."""

    file: IO[bytes]
    filename: str | None
    size: int
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class _Part:
    name: str = ""
    data: bytearray = field(default_factory=bytearray)


class _Collector:
    """python-multipart callbacks: file bytes are handed on, fields stay small in memory."""

    def __init__(self, max_file_bytes: int) -> None:
        self.max_file_bytes = max_file_bytes
        self.parts = 0
        self.size = 0
        self.filename: str | None = None
        self.fields: dict[str, str] = {}
        self.pending: list[bytes] = []  # file bytes not yet written
        self._part = _Part()
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise _invalid(f"the upload has more than {MAX_PARTS} parts; {_HELP}")
        self._part = _Part()
        self._disposition = b""

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise _invalid(f"a part has no name in its Content-Disposition; {_HELP}")
        self._part.name = options[b"name"].decode("utf-8", "replace")
        if self._part.name == FILE_FIELD:
            if self.filename is not None or self.size:
                raise _invalid("the upload has more than one `file` part; send one CSV per upload")
            self.filename = options.get(b"filename", b"").decode("utf-8", "replace")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._part.name == FILE_FIELD:
            # Checked before the bytes are kept: nothing past the limit is written.
            if self.size + len(chunk) > self.max_file_bytes:
                raise PayloadTooLarge(
                    f"the file is larger than {self.max_file_bytes} bytes, the upload limit",
                    details={"limit_bytes": self.max_file_bytes},
                    headers={"Connection": "close"},
                )
            self.size += len(chunk)
            self.pending.append(chunk)
            return
        if len(self._part.data) + len(chunk) > MAX_FIELD_BYTES:
            raise _invalid(f"the field {self._part.name!r} is longer than {MAX_FIELD_BYTES} bytes")
        self._part.data.extend(chunk)

    def on_part_end(self) -> None:
        if self._part.name != FILE_FIELD:
            self.fields[self._part.name] = self._part.data.decode("utf-8", "replace")

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self.on_part_begin,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
        }

    def take_pending(self) -> bytes:
        data, self.pending = b"".join(self.pending), []
        return data


def _boundary(request: Request) -> bytes:
    content_type, options = parse_options_header(request.headers.get("content-type"))
    if content_type != b"multipart/form-data" or not options.get(b"boundary"):
        raise _invalid(f"the body is not multipart/form-data; {_HELP}")
    return options[b"boundary"]


async def receive_upload(request: Request, *, max_file_bytes: int) -> ReceivedUpload:
    """Read the request's multipart body; the ``file`` part goes to a temporary file."""
    boundary = _boundary(request)
    sink = tempfile.NamedTemporaryFile(prefix="tasador-upload-", suffix=".csv")  # noqa: SIM115
    try:
        collector = _Collector(max_file_bytes)
        parser = MultipartParser(boundary, collector.callbacks())
        try:
            async for chunk in request.stream():
                parser.write(chunk)
                data = collector.take_pending()
                if data:
                    # Off the event loop: a slow disk must not stall other requests.
                    await run_in_threadpool(sink.write, data)
            parser.finalize()
        except FormParserError as exc:
            raise _invalid(f"the multipart body is malformed ({exc}); {_HELP}") from exc
        if parser.state != MultipartState.END:
            # No closing boundary: the body was cut short, so the file may be too.
            raise _invalid(f"the multipart body ends before its closing boundary; {_HELP}")
        if collector.filename is None:
            raise _invalid(f"the upload has no `file` part; {_HELP}")
        sink.flush()
        sink.seek(0)
        return ReceivedUpload(sink, collector.filename or None, collector.size, collector.fields)
    except BaseException:
        sink.close()  # removes the file
        raise
