"""One HTTP attempt against a real loopback receiver (no database involved)."""

from __future__ import annotations

import socket

from api.webhooks.sender import SendPolicy, send
from api.webhooks.ssrf import AllowList
from tests.webhooks.receiver import Receiver, Reply

LOOPBACK_ALLOWED = SendPolicy(
    connect_timeout=1, read_timeout=0.5, allow=AllowList.parse(["127.0.0.1"])
)
HEADERS = {"webhook-id": "msg_x", "webhook-timestamp": "1", "webhook-signature": "v1,x"}


def test_2xx_is_delivered_and_only_the_first_kilobyte_of_the_answer_is_kept(
    receiver: Receiver,
) -> None:
    receiver.reply_with(Reply(status=200, body=b"y" * 5000))
    outcome = send(receiver.url, b'{"a":1}', HEADERS, LOOPBACK_ALLOWED)
    assert outcome.delivered and outcome.status_code == 200 and outcome.error is None
    assert outcome.snippet == "y" * 1024
    (request,) = receiver.requests
    assert request.body == b'{"a":1}'
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == "msg_x"


def test_slow_receiver_is_a_timeout_not_a_hang(receiver: Receiver) -> None:
    receiver.reply_with(Reply(delay=2.0))
    outcome = send(receiver.url, b"{}", HEADERS, LOOPBACK_ALLOWED)
    assert not outcome.delivered and outcome.status_code is None
    assert outcome.error is not None and outcome.error.startswith("timeout: ReadTimeout")
    assert outcome.duration_ms < 1500


def test_redirect_is_reported_and_not_followed(receiver: Receiver) -> None:
    receiver.reply_with(Reply(status=307, headers={"Location": "/elsewhere"}))
    outcome = send(receiver.url, b"{}", HEADERS, LOOPBACK_ALLOWED)
    assert outcome.status_code == 307 and not outcome.delivered
    assert outcome.error is not None and "redirect to /elsewhere not followed" in outcome.error
    assert [r.path for r in receiver.requests] == ["/hook"]


def test_loopback_is_refused_by_name_and_by_address_without_an_allow_list(
    receiver: Receiver,
) -> None:
    guarded = SendPolicy(connect_timeout=1, read_timeout=0.5, allow=AllowList())
    port = receiver.url.split(":")[2].split("/")[0]
    for url in (receiver.url, f"http://localhost:{port}/hook"):
        outcome = send(url, b"{}", HEADERS, guarded)
        assert outcome.blocked and outcome.status_code is None
        assert outcome.error is not None
        assert outcome.error.startswith("blocked_destination: refused to call")
        assert "a loopback address" in outcome.error
    assert receiver.requests == []


def test_nobody_listening_is_a_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outcome = send(f"http://127.0.0.1:{port}/hook", b"{}", HEADERS, LOOPBACK_ALLOWED)
    assert outcome.status_code is None and not outcome.blocked
    assert outcome.error is not None and outcome.error.startswith("connection_error: ")


def test_a_url_the_client_cannot_parse_is_a_recorded_final_failure() -> None:
    """A job stored before submit checked this still gets an attempt on record."""
    outcome = send("http://0177.0.0.1:9/hook", b"{}", HEADERS, LOOPBACK_ALLOWED)
    assert outcome.blocked and not outcome.delivered and outcome.status_code is None
    assert outcome.error is not None and outcome.error.startswith("invalid_url:")
