"""Translation of botocore failures into storage domain errors.

boto3 reports failures as ``ClientError`` with a string code, which differs
between operations (``GetObject`` says ``NoSuchKey``, ``HeadObject`` has no body
and says ``404``). Everything is mapped in one place so each caller gets the same
precise error for the same situation.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from api.storage.errors import (
    AccessDenied,
    InvalidUri,
    ObjectNotFound,
    StorageError,
    StorageFailure,
    StorageUnavailable,
)

_NOT_FOUND = {"NoSuchKey", "NoSuchUpload", "404", "NotFound"}
_BUCKET_MISSING = {"NoSuchBucket"}
DENIED_REASON = "the store refused access (check the bucket policy and IAM permissions)"
_DENIED_REASONS = {
    "AccessDenied": DENIED_REASON,
    "403": DENIED_REASON,
    "Forbidden": DENIED_REASON,
    "AllAccessDisabled": "all access to this object has been disabled",
    "InvalidAccessKeyId": "the access key id is not known to the store (AWS_ACCESS_KEY_ID)",
    "SignatureDoesNotMatch": "the secret key does not match the access key (AWS_SECRET_ACCESS_KEY)",
    "ExpiredToken": "the session credentials have expired",
    "InvalidToken": "the session token is invalid",
}
_UNAVAILABLE = {
    "ServiceUnavailable",
    "SlowDown",
    "InternalError",
    "RequestTimeout",
    "503",
    "500",
}


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "")) or str(
        exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
    )


def map_client_error(exc: ClientError, uri: str) -> StorageError:
    """The domain error for a ``ClientError`` raised while accessing ``uri``."""
    code = error_code(exc)
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code in _BUCKET_MISSING:
        return ObjectNotFound.for_uri(uri, bucket_missing=True)
    if code in _NOT_FOUND:
        return ObjectNotFound.for_uri(uri)
    if code in _DENIED_REASONS:
        return AccessDenied.for_uri(uri, _DENIED_REASONS[code])
    if code == "InvalidBucketName":
        return InvalidUri.for_uri(uri, "the store rejects this bucket name")
    if code in _UNAVAILABLE or (isinstance(status, int) and status >= 500):
        return StorageUnavailable.for_uri(uri, f"{code or status}: the store failed; try again")
    message = exc.response.get("Error", {}).get("Message", "") or str(exc)
    return StorageFailure(
        f"object store error {code} while accessing {uri}: {message}",
        details={"uri": uri, "store_code": code},
    )


def map_boto_error(exc: BotoCoreError, uri: str) -> StorageError:
    """The domain error for a client-side botocore failure (network, credentials)."""
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return AccessDenied.for_uri(
            uri, "no usable credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        )
    # ResponseStreamingError is an HTTPClientError, so it must be checked first.
    if isinstance(exc, ResponseStreamingError | IncompleteReadError):
        return StorageUnavailable.for_uri(uri, f"the connection broke mid-transfer: {exc}")
    if isinstance(exc, BotoConnectionError | HTTPClientError | ReadTimeoutError):
        return StorageUnavailable.for_uri(uri, f"cannot reach the store: {exc}")
    return StorageFailure(
        f"object store client error while accessing {uri}: {exc}", details={"uri": uri}
    )


@contextmanager
def translated(uri: str) -> Iterator[None]:
    """Run a block of boto3 calls, raising storage domain errors instead of botocore's."""
    try:
        yield
    except ClientError as exc:
        raise map_client_error(exc, uri) from exc
    except BotoCoreError as exc:
        raise map_boto_error(exc, uri) from exc
