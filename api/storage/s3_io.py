"""Streaming file objects over S3 responses and multipart uploads.

Reading wraps botocore's ``StreamingBody`` in a ``RawIOBase`` so Python's own
``BufferedReader`` supplies ``read1``/``readline``/``peek``; that is what lets
``io.TextIOWrapper`` and ``pandas.read_csv(chunksize=...)`` pull the object a
buffer at a time instead of downloading it whole.

Writing uploads each full part as soon as it is ready, on a thread of its own,
so the writer goes on producing the next part meanwhile (a batch job keeps
predicting while its output travels): at most one part is in flight and one is
being filled. Nothing is visible at the key until the upload is completed, and
an aborted upload leaves nothing behind, which is what makes writes all-or-nothing.
"""

from __future__ import annotations

import io
import logging
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from api.storage.s3_errors import translated

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer
    from botocore.response import StreamingBody
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

log = logging.getLogger(__name__)

MIN_PART_BYTES = 5 * 1024 * 1024  # S3 rejects smaller parts (except the last one)
READ_BUFFER_BYTES = 256 * 1024


class BodyReader(io.RawIOBase):
    """A raw, forward-only stream over a ``GetObject`` response body."""

    def __init__(self, body: StreamingBody, uri: str) -> None:
        super().__init__()
        self._body = body
        self._uri = uri

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        with translated(self._uri):
            data = self._body.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            # Releases the HTTP connection even when the object was not read to the end.
            self._body.close()
        super().close()


def open_body(body: StreamingBody, uri: str) -> io.BufferedReader:
    return io.BufferedReader(BodyReader(body, uri), buffer_size=READ_BUFFER_BYTES)


class MultipartWriter(io.RawIOBase):
    """Collects bytes into parts of ``part_bytes`` and uploads each full part.

    The multipart upload is started lazily: an object smaller than one part is
    sent with a single ``PutObject`` on :meth:`commit`, which is just as atomic
    and leaves no upload to clean up if the writer is abandoned. A part's upload
    runs in the background; its failure surfaces at the next part, or at
    :meth:`commit`, which then aborts the upload.
    """

    def __init__(self, client: S3Client, bucket: str, key: str, uri: str, part_bytes: int) -> None:
        super().__init__()
        if part_bytes < MIN_PART_BYTES:
            raise ValueError(f"part size {part_bytes} is below S3's minimum of {MIN_PART_BYTES}")
        self._client = client
        self._bucket = bucket
        self._key = key
        self._uri = uri
        self._part_bytes = part_bytes
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[CompletedPartTypeDef] = []
        self._uploader: ThreadPoolExecutor | None = None
        self._in_flight: Future[CompletedPartTypeDef] | None = None
        self._finished = False

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer) -> int:
        if self.closed or self._finished:
            raise ValueError(f"write to a closed stream for {self._uri}")
        view = memoryview(data).cast("B")
        self._buffer += view
        while len(self._buffer) >= self._part_bytes:
            self._send_part(bytes(self._buffer[: self._part_bytes]))
            del self._buffer[: self._part_bytes]
        return len(view)

    def _send_part(self, data: bytes) -> None:
        """Start uploading ``data`` as the next part, once the previous one is done."""
        self._settle()
        if self._upload_id is None:
            with translated(self._uri):
                started = self._client.create_multipart_upload(Bucket=self._bucket, Key=self._key)
            self._upload_id = started["UploadId"]
            self._uploader = ThreadPoolExecutor(1, thread_name_prefix="s3-part")
        assert self._uploader is not None
        number = len(self._parts) + 1
        self._in_flight = self._uploader.submit(self._upload_part, self._upload_id, number, data)

    def _upload_part(self, upload_id: str, number: int, data: bytes) -> CompletedPartTypeDef:
        with translated(self._uri):
            answer = self._client.upload_part(
                Bucket=self._bucket, Key=self._key, UploadId=upload_id, PartNumber=number, Body=data
            )
        return {"ETag": answer["ETag"], "PartNumber": number}

    def _settle(self) -> None:
        """Wait for the part in flight; its error, if any, is raised here."""
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is not None:
            self._parts.append(in_flight.result())

    def commit(self) -> None:
        """Publish the object: a single put, or the last part and completion."""
        if self._finished:
            return
        try:
            if self._upload_id is None:
                with translated(self._uri):
                    self._client.put_object(
                        Bucket=self._bucket, Key=self._key, Body=bytes(self._buffer)
                    )
            else:
                if self._buffer:
                    self._send_part(bytes(self._buffer))
                self._settle()
                with translated(self._uri):
                    self._client.complete_multipart_upload(
                        Bucket=self._bucket,
                        Key=self._key,
                        UploadId=self._upload_id,
                        MultipartUpload={"Parts": self._parts},
                    )
        except BaseException:
            self.abort()
            raise
        self._finish()

    def abort(self) -> None:
        """Drop everything written so far; the key keeps its previous state."""
        if self._finished:
            return
        upload_id, self._upload_id = self._upload_id, None
        in_flight = self._in_flight
        self._finish()
        if in_flight is not None:
            in_flight.exception()  # wait: aborting under a running part may leave it behind
        if upload_id is None:
            return
        try:
            self._client.abort_multipart_upload(
                Bucket=self._bucket, Key=self._key, UploadId=upload_id
            )
        except Exception as exc:  # the caller's original error matters more
            # An unaborted upload stays invisible; a bucket lifecycle rule reclaims it.
            log.warning("could not abort multipart upload for %s: %s", self._uri, exc)

    def _finish(self) -> None:
        self._finished = True
        self._buffer = bytearray()
        self._parts = []
        self._in_flight = None
        if self._uploader is not None:
            self._uploader.shutdown(wait=False)
            self._uploader = None

    def close(self) -> None:
        # Closing (e.g. by a TextIOWrapper) must not publish: only commit() does,
        # so that an exception raised after close still aborts the upload.
        super().close()
