"""Object URIs: what is accepted, what is refused and how the refusal reads."""

from __future__ import annotations

import pytest

from api.storage import InvalidUri, parse_uri


def test_uri_splits_into_bucket_and_nested_key() -> None:
    address = parse_uri("s3://tasador/datasets/2024/train.csv")
    assert address == ("tasador", "datasets/2024/train.csv")
    assert address.uri == "s3://tasador/datasets/2024/train.csv"


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("http://tasador/key.csv", "must start with s3://"),
        ("tasador/key.csv", "must start with s3://"),
        ("s3://", "bucket name is empty"),
        ("s3:///key.csv", "bucket name is empty"),
        ("s3://tasador", "key is empty"),
        ("s3://tasador/", "key is empty"),
        ("s3://tasador//key.csv", "must not start with '/'"),
        ("s3://tasador/a//b.csv", "empty path segment"),
        ("s3://tasador/key/", "must not end with '/'"),
        ("s3://tasador/../other/key.csv", "'..' path segment"),
        ("s3://tasador/a/../../b.csv", "'..' path segment"),
        ("s3://tasador/./key.csv", "'.' path segment"),
        ("s3://tasador/a\\..\\b", "backslashes"),
        ("s3://tasador/a\x00b", "control characters"),
        ("s3://Tasador/key.csv", "bucket name 'Tasador'"),
        ("s3://ab/key.csv", "bucket name 'ab'"),
        ("s3://..bucket/key.csv", "bucket name"),
        ("s3://tasador/" + "k" * 1025, "longer than 1024 bytes"),
    ],
)
def test_invalid_uri_is_refused_with_the_reason(uri: str, reason: str) -> None:
    with pytest.raises(InvalidUri) as caught:
        parse_uri(uri)
    assert caught.value.code == "invalid_uri"
    assert caught.value.status_code == 422
    assert reason in caught.value.message
    assert caught.value.details == {"uri": uri}
