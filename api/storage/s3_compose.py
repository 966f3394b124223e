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
from api.storage.s3_publish import MAX_COPY_PART, SOURCE_METADATA, copy_parts, source_label
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
    nonempty = _copyable_parts(client, sources)
    if nonempty is None:
        stream(sources, target)
        return
    copy_parts(client, [(source, None) for source in nonempty], target)


def publish_parts(
    client: S3Client,
    sources: list[str],
    staged: str,
    target: str,
    fallback: Callable[[list[str], str, str], None],
) -> None:
    """Publish the concatenation of ``sources`` at ``target`` in one server-side step.

    The result is labelled as a copy of ``staged`` (which is never written), so
    it is recognised as that attempt's output exactly as a published staging
    object would be; ``fallback`` composes into ``staged`` and publishes it.
    """
    nonempty = _copyable_parts(client, sources)
    if nonempty is None:
        fallback(sources, staged, target)
        return
    parts: list[tuple[str, str | None]] = [(source, None) for source in nonempty]
    copy_parts(client, parts, target, {SOURCE_METADATA: source_label(staged)})


def _copyable_parts(client: S3Client, sources: list[str]) -> list[str] | None:
    """The non-empty ``sources`` when S3 can join them server-side, else None."""
    sizes = []
    for source in sources:
        src = parse_uri(source)
        with translated(source):
            sizes.append(client.head_object(Bucket=src.bucket, Key=src.key)["ContentLength"])
    nonempty = [s for s, size in zip(sources, sizes, strict=True) if size]
    if not nonempty or not copyable([size for size in sizes if size]):
        return None
    return nonempty
