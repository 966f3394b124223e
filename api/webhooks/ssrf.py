"""The SSRF guard: a callback URL must not reach into our own network.

A job's owner chooses the callback URL, so without this guard any user could
make the worker POST to the cloud metadata service, a database admin page on
the private network, or a port on the worker's own loopback. Addresses are
checked where the connection is made (see ``sender``), after DNS resolution,
so a name that resolves to a private address is refused just like the literal,
and a name that changes its answer between check and connect cannot slip by.

Operators (and tests) can allow specific hosts, addresses or networks with
``TASADOR_WEBHOOK_ALLOWED_HOSTS``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Cloud metadata endpoints (AWS/GCP/Azure/OpenStack, AWS IPv6, Alibaba). Named
# separately because they are the most valuable target and deserve a precise
# message; most are link-local anyway.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
# Carrier-grade NAT space is not "private" to the ipaddress module but is
# internal to whoever runs it (including some cloud VPCs).
_SHARED = ipaddress.ip_network("100.64.0.0/10")


class BlockedDestination(Exception):
    """The callback's host points at an address the service must not call."""


def classify(address: IPAddress) -> str | None:
    """Why ``address`` may not be called, or None when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address in _SHARED or address.is_private:
        return "a private address"
    if address.is_reserved or not address.is_global:
        return "a reserved address"
    return None


@dataclass(frozen=True)
class AllowList:
    """Hosts and networks the guard lets through despite their address class."""

    hostnames: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """Entries are hostnames, IP addresses or CIDR networks."""
        hostnames: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().lower().strip("[]")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hostnames.add(entry.rstrip("."))
        return cls(frozenset(hostnames), tuple(networks))

    def permits(self, host: str, address: IPAddress | None = None) -> bool:
        if host.lower().rstrip(".").strip("[]") in self.hostnames:
            return True
        if address is None:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks)


def check_address(host: str, address: IPAddress, allow: AllowList) -> None:
    """Raise ``BlockedDestination`` unless ``host`` at ``address`` may be called."""
    reason = classify(address)
    if reason is not None and not allow.permits(host, address):
        raise BlockedDestination(
            f"refused to call {host}: it resolves to {address}, {reason}; "
            "add it to TASADOR_WEBHOOK_ALLOWED_HOSTS to permit it"
        )


def literal_address(host: str) -> IPAddress | None:
    """``host`` as an IP address when it is written as one (``[::1]`` included)."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
