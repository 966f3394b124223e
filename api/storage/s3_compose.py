"""Assembling one S3 object from parts written by different workers.

A partitioned batch job leaves one part object per partition. The output is
one multipart upload whose parts are server-side copies of them
(``UploadPartCopy``), so no byte passes through the worker that assembles it;
the upload is completed with ``If-None-Match: *`` and so never replaces an
object. S3 refuses a part under 5 MiB unless it is the last one: when any part
but the last is smaller, the bytes are streamed through instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from api.storage.errors import ObjectExists
from api.storage.s3_errors import error_code, translated
from api.storage.s3_io import MIN_PART_BYTES
from api.storage.s3_publish import MAX_COPY_PART, exists
from api.storage.uri import parse_uri

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

_REFUSED = {"PreconditionFailed", "412"}


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
    dst = parse_uri(target)
    with translated(target):
        if exists(client, dst.bucket, dst.key):  # a server may ignore If-None-Match
            raise ObjectExists.for_uri(target)
        upload_id = client.create_multipart_upload(Bucket=dst.bucket, Key=dst.key)["UploadId"]
    try:
        with translated(target):
            parts: list[CompletedPartTypeDef] = []
            for number, source in enumerate(nonempty, start=1):
                src = parse_uri(source)
                answer = client.upload_part_copy(
                    Bucket=dst.bucket,
                    Key=dst.key,
                    UploadId=upload_id,
                    PartNumber=number,
                    CopySource={"Bucket": src.bucket, "Key": src.key},
                )
                parts.append({"ETag": answer["CopyPartResult"]["ETag"], "PartNumber": number})
            try:
                client.complete_multipart_upload(
                    Bucket=dst.bucket,
                    Key=dst.key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                    IfNoneMatch="*",
                )
            except ClientError as exc:
                if error_code(exc) in _REFUSED:
                    raise ObjectExists.for_uri(target) from None
                raise
    except BaseException:
        with contextlib.suppress(Exception):  # the sweeper aborts what is left
            client.abort_multipart_upload(Bucket=dst.bucket, Key=dst.key, UploadId=upload_id)
        raise
