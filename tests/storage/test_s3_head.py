"""The lean signed HEAD a submit's existence checks use (``api.storage.s3_head``).

Against moto's server for real answers (200, 404, a missing bucket), against a
stub HTTP server where moto cannot answer what a test needs (403, a 500), and
against botocore's own signer for the signature.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from api.storage import S3Store
from api.storage.errors import AccessDenied, ObjectNotFound
from api.storage.s3_head import LeanHead, signed_headers

pytestmark = pytest.mark.services

CREDENTIALS = ReadOnlyCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None)


class _Stub(BaseHTTPRequestHandler):
    status = 200
    seen: list[dict[str, Any]] = []

    def do_HEAD(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        type(self).seen.append({"path": self.path, "headers": headers})
        self.send_response(type(self).status)
        self.send_header("Content-Length", "7")
        self.send_header("ETag", '"abc"')
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def stub() -> Iterator[type[_Stub]]:
    handler = type("Stub", (_Stub,), {"seen": [], "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()
    server.server_close()


def _botocore_authorization(url: str, headers: dict[str, str], stamp: str) -> str:
    request = AWSRequest(method="HEAD", url=url, headers=dict(headers))
    request.context["timestamp"] = stamp
    auth = S3SigV4Auth(CREDENTIALS, "s3", "us-east-1")
    canonical = auth.canonical_request(request)
    signature = auth.signature(auth.string_to_sign(request, canonical), request)
    return f"{auth.scope(request)}|{auth.signed_headers(auth.headers_to_sign(request))}|{signature}"


@pytest.mark.parametrize("key", ["inputs/data.csv", "a folder/ñandú (1).csv", "x+y=z~v.csv"])
def test_the_signature_is_the_one_botocore_computes(key: str) -> None:
    from urllib.parse import quote

    now = datetime(2026, 12, 6, 20, 30, 5, tzinfo=UTC)
    path = f"/bucket/{quote(key, safe='/-_.~')}"
    headers = signed_headers("HEAD", "127.0.0.1:9000", path, CREDENTIALS, "us-east-1", now)
    assert headers["x-amz-date"] == "20261206T203005Z"
    sent = {k: v for k, v in headers.items() if k != "authorization"}
    expected = _botocore_authorization(f"http://127.0.0.1:9000{path}", sent, "20261206T203005Z")
    scope, names, signature = expected.split("|")
    assert headers["authorization"] == (
        f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders={names}, Signature={signature}"
    )


def test_a_session_token_is_sent_and_signed() -> None:
    temporary = ReadOnlyCredentials("AKID", "secret", "session-token")
    now = datetime(2026, 12, 6, tzinfo=UTC)
    headers = signed_headers("HEAD", "h", "/b/k", temporary, "eu-west-1", now)
    assert headers["x-amz-security-token"] == "session-token"
    assert "x-amz-security-token" in headers["authorization"]
    assert "/eu-west-1/s3/aws4_request" in headers["authorization"]


def test_head_on_moto_answers_size_and_etag_and_missing_objects(s3_store: S3Store) -> None:
    uri = f"s3://{s3_store.bucket}/lean/{uuid.uuid4().hex} with space.csv"
    s3_store.put_bytes(uri, b"a,b\n1,2\n")
    boto = s3_store.client.head_object(Bucket=str(s3_store.bucket), Key=uri.split("/", 3)[3])
    info = s3_store.head(uri)
    assert (info.size, info.etag) == (8, boto["ETag"].strip('"'))
    with pytest.raises(ObjectNotFound) as missing:
        s3_store.head(f"s3://{s3_store.bucket}/lean/absent.csv")
    assert not (missing.value.details or {}).get("bucket_missing")
    assert s3_store.exists(uri) and not s3_store.exists(f"s3://{s3_store.bucket}/lean/absent.csv")


def test_a_missing_bucket_is_named_as_such(moto_server: str) -> None:
    store = S3Store(endpoint_url=moto_server)
    with pytest.raises(ObjectNotFound) as missing:
        store.head(f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/k.csv")
    assert missing.value.details["bucket_missing"] is True


def test_head_goes_lean_not_through_boto3(s3_store: S3Store, monkeypatch: Any) -> None:
    uri = f"s3://{s3_store.bucket}/lean/counted.csv"
    s3_store.put_bytes(uri, b"x\n")

    def refuse(**_: Any) -> None:
        raise AssertionError("boto3 head_object was called")

    monkeypatch.setattr(s3_store.client, "head_object", refuse)
    assert s3_store.head(uri).size == 2


def test_403_is_access_denied_without_asking_boto3(stub: Any) -> None:
    stub.status = 403
    store = S3Store(endpoint_url=stub.url)
    with pytest.raises(AccessDenied):
        store.head("s3://bucket/secret.csv")
    assert len(stub.seen) == 1
    assert stub.seen[0]["path"] == "/bucket/secret.csv"
    assert stub.seen[0]["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 Credential=")


def test_anything_unusual_falls_back_to_boto3(stub: Any, s3_store: S3Store) -> None:
    stub.status = 500
    answer = LeanHead(stub.url, "us-east-1").head("bucket", "k.csv", CREDENTIALS)
    assert answer is None  # the caller asks boto3, which retries and names the problem
    assert LeanHead(stub.url, "us-east-1").head("bucket", "k.csv", None) is None
    assert LeanHead(None, "us-east-1").head("dotted.bucket", "k.csv", CREDENTIALS) is None
    # Lean requests to a closed port: boto3 answers instead, correctly.
    uri = f"s3://{s3_store.bucket}/lean/fallback.csv"
    s3_store.put_bytes(uri, b"abc")
    s3_store._lean = LeanHead("http://127.0.0.1:9", "us-east-1")
    assert s3_store.head(uri).size == 3
    with pytest.raises(ObjectNotFound):
        s3_store.head(f"s3://{s3_store.bucket}/lean/nothing.csv")
