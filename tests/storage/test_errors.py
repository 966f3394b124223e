"""Failure mapping: each backend's own errors become precise domain errors."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from api.errors import TasadorError
from api.storage import (
    AccessDenied,
    InvalidUri,
    LocalStore,
    ObjectNotFound,
    S3Store,
    StorageError,
    StorageFailure,
    StorageUnavailable,
)
from api.storage.local import map_os_error
from api.storage.s3_errors import map_boto_error, map_client_error

URI = "s3://tasador/datasets/train.csv"


def _client_error(code: str, status: int, operation: str = "GetObject") -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} says the store"},
            # What botocore fills in on every error response.
            "ResponseMetadata": {
                "HTTPStatusCode": status,
                "RequestId": "test-request",
                "HostId": "",
                "HTTPHeaders": {},
                "RetryAttempts": 0,
            },
        },
        operation,
    )


@pytest.mark.parametrize(
    ("code", "status", "expected", "error_code", "phrase"),
    [
        ("NoSuchKey", 404, ObjectNotFound, "object_not_found", "object not found"),
        ("404", 404, ObjectNotFound, "object_not_found", "object not found"),
        ("NoSuchBucket", 404, ObjectNotFound, "object_not_found", "bucket 'tasador' does not"),
        ("AccessDenied", 403, AccessDenied, "access_denied", "refused access"),
        ("403", 403, AccessDenied, "access_denied", "refused access"),
        ("InvalidAccessKeyId", 403, AccessDenied, "access_denied", "AWS_ACCESS_KEY_ID"),
        ("SignatureDoesNotMatch", 403, AccessDenied, "access_denied", "AWS_SECRET_ACCESS_KEY"),
        ("SlowDown", 503, StorageUnavailable, "storage_unavailable", "try again"),
        ("InternalError", 500, StorageUnavailable, "storage_unavailable", "try again"),
        ("InvalidRange", 416, StorageFailure, "storage_error", "InvalidRange says the store"),
    ],
)
def test_client_error_codes_map_to_domain_errors(
    code: str, status: int, expected: type[StorageError], error_code: str, phrase: str
) -> None:
    error = map_client_error(_client_error(code, status), URI)
    assert type(error) is expected
    assert isinstance(error, TasadorError)
    assert error.code == error_code
    assert URI in error.message
    assert phrase in error.message


def test_connection_and_credential_failures_map_to_domain_errors() -> None:
    down = map_boto_error(EndpointConnectionError(endpoint_url="http://minio:9000"), URI)
    assert isinstance(down, StorageUnavailable)
    assert down.status_code == 503
    assert "http://minio:9000" in down.message
    no_keys = map_boto_error(NoCredentialsError(), URI)
    assert isinstance(no_keys, AccessDenied)
    assert "AWS_ACCESS_KEY_ID" in no_keys.message


def test_unreachable_s3_is_reported_by_the_readiness_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with socket.socket() as sock:  # a port that was free a moment ago refuses connections
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = S3Store(endpoint_url=f"http://127.0.0.1:{port}", bucket="tasador")
    reason = store.readiness_check()
    assert reason is not None
    assert "cannot reach the store" in reason


def test_s3_readiness_names_a_missing_bucket(moto_server: str) -> None:
    store = S3Store(endpoint_url=moto_server, bucket="never-created")
    assert store.readiness_check() == "bucket 'never-created' does not exist"


def test_local_readiness_names_a_missing_bucket(tmp_path: Path) -> None:
    reason = LocalStore(tmp_path, bucket="tasador").readiness_check()
    assert reason == f"{tmp_path.resolve() / 'tasador'} does not exist"


def test_os_errors_map_to_domain_errors() -> None:
    assert isinstance(map_os_error(PermissionError(13, "denied"), URI), AccessDenied)
    assert isinstance(map_os_error(FileNotFoundError(2, "gone"), URI), ObjectNotFound)
    assert isinstance(map_os_error(NotADirectoryError(20, "no"), URI, reading=True), ObjectNotFound)
    assert isinstance(map_os_error(IsADirectoryError(21, "dir"), URI), InvalidUri)


def test_unreadable_local_file_is_access_denied(local_store: LocalStore) -> None:
    uri = "s3://tasador/locked.csv"
    local_store.put_bytes(uri, b"a,b\n1,2\n")
    path = local_store.path_for(uri)
    path.chmod(0)
    try:
        try:
            path.open("rb").close()
        except PermissionError:
            pass
        else:
            pytest.skip("permission bits are not enforced for this user (root)")
        with pytest.raises(AccessDenied) as caught:
            local_store.get_bytes(uri)
        assert caught.value.code == "access_denied"
        assert uri in caught.value.message
    finally:
        path.chmod(0o644)


def test_symlink_leading_out_of_the_store_is_refused(
    local_store: LocalStore, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not yours")
    os.symlink(outside, local_store.root / "tasador" / "link")
    for attempt in (local_store.get_bytes, local_store.head, local_store.exists):
        with pytest.raises(AccessDenied, match="outside the store's root"):
            attempt("s3://tasador/link/secret.txt")
    with pytest.raises(AccessDenied), local_store.open_write("s3://tasador/link/new.txt") as out:
        out.write(b"x")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_symlink_into_another_bucket_is_refused(local_store: LocalStore) -> None:
    local_store.ensure_bucket("private")
    local_store.put_bytes("s3://private/salaries.csv", b"secret")
    os.symlink(local_store.root / "private", local_store.root / "tasador" / "peek")
    with pytest.raises(AccessDenied):
        local_store.get_bytes("s3://tasador/peek/salaries.csv")


def test_local_write_leaves_no_temporary_file(local_store: LocalStore) -> None:
    local_store.put_bytes("s3://tasador/dir/ok.bin", b"ok")
    with pytest.raises(KeyError), local_store.open_write("s3://tasador/dir/bad.bin") as out:
        out.write(b"partial")
        raise KeyError("stop")
    assert sorted(p.name for p in (local_store.root / "tasador" / "dir").iterdir()) == ["ok.bin"]
