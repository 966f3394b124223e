"""Assembling one S3 object from parts written by different workers.

A partitioned batch job leaves one part object per partition. The output is
one multipart upload whose parts are server-side copies of them
(``UploadPartCopy``), so no byte passes through the worker that assembles it;
the upload is completed with ``If-None-Match: *`` and so never replaces an
object. S3 refuses a part under 5 MiB unless it is the last one: when any part
but the last is smaller, the bytes are streamed through instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from api.storage.s3_errors import translated
from api.storage.s3_io import MIN_PART_BYTES
from api.storage.s3_publish import MAX_COPY_PART, copy_parts
from api.storage.uri import parse_uri

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def copyable(sizes: list[int]) -> bool:
    """Whether parts of these sizes can be copied server-side, in order."""
    return all(MIN_PART_BYTES <= s <= MAX_COPY_PART for s in sizes[:-1]) and (
        not sizes or sizes[-1] <= MAX_COPY_PART
    )


def compose(
    client: S3Client,
    sources: list[str],
    target: str,
    stream: Callable[[list[str], str], None],
) -> None:
    """``target`` = the concatenation of ``sources``; ``stream`` is the fallback."""
    sizes = []
    for source in sources:
        src = parse_uri(source)
        with translated(source):
            sizes.append(client.head_object(Bucket=src.bucket, Key=src.key)["ContentLength"])
    nonempty = [s for s, size in zip(sources, sizes, strict=True) if size]
    if not nonempty or not copyable([size for size in sizes if size]):
        stream(sources, target)
        return
    copy_parts(client, [(source, None) for source in nonempty], target)
