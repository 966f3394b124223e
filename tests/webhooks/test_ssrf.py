"""The SSRF guard's view of addresses: internal ones are refused unless allowed."""

from __future__ import annotations

import ipaddress

import pytest

from api.webhooks.ssrf import AllowList, BlockedDestination, check_address, classify


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.9", "private"),
        ("192.168.1.1", "private"),
        ("100.64.0.1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.10.10", "link-local"),
        ("fe80::1", "link-local"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
    ],
)
def test_internal_addresses_are_classified_with_their_reason(address: str, reason: str) -> None:
    found = classify(ipaddress.ip_address(address))
    assert found is not None and reason in found


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert classify(ipaddress.ip_address(address)) is None


def test_allow_list_accepts_hostnames_addresses_and_networks() -> None:
    allow = AllowList.parse(["Hooks.Internal.", "127.0.0.1", "10.20.0.0/16", "[::1]"])
    check_address("hooks.internal", ipaddress.ip_address("10.9.9.9"), allow)
    check_address("x", ipaddress.ip_address("127.0.0.1"), allow)
    check_address("x", ipaddress.ip_address("10.20.3.4"), allow)
    check_address("x", ipaddress.ip_address("::1"), allow)
    check_address("x", ipaddress.ip_address("::ffff:10.20.3.4"), allow)
    with pytest.raises(BlockedDestination, match=r"10\.21\.0\.1, a private address"):
        check_address("x", ipaddress.ip_address("10.21.0.1"), allow)


def test_refusal_names_host_address_reason_and_the_setting_to_change() -> None:
    with pytest.raises(BlockedDestination) as caught:
        check_address("evil.example", ipaddress.ip_address("169.254.169.254"), AllowList())
    message = str(caught.value)
    assert "evil.example" in message and "169.254.169.254" in message
    assert "metadata" in message and "TASADOR_WEBHOOK_ALLOWED_HOSTS" in message
