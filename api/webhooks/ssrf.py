"""The SSRF guard: a callback URL must not reach into our own network.

A job's owner chooses the callback URL, so without this guard any user could
make the worker POST to the cloud metadata service, a database admin page on
the private network, or a port on the worker's own loopback. Addresses are
checked where the connection is made (see ``sender``), after DNS resolution,
so a name that resolves to a private address is refused just like the literal,
and a name that changes its answer between check and connect cannot slip by.

What counts as internal is one table, ``DENY_TABLE``: every block of the IANA
special-purpose registries. Formats that carry an IPv4 address inside an IPv6
one (IPv4-mapped, NAT64, 6to4) are judged by that IPv4 address, so
``2002:c0a8:101::1`` is as private as ``192.168.1.1``.

Operators (and tests) can allow specific hosts, addresses or networks with
``TASADOR_WEBHOOK_ALLOWED_HOSTS``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Embedded = Callable[[ipaddress.IPv6Address], ipaddress.IPv4Address]

# Cloud metadata endpoints (AWS/GCP/Azure/OpenStack, AWS IPv6, Alibaba). Named
# separately because they are the most valuable target and deserve a precise
# message; the ranges below refuse them anyway.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)


def _low32(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)


def _sixtofour(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address((int(address) >> 80) & 0xFFFF_FFFF)  # 2002:AABB:CCDD::


@dataclass(frozen=True)
class DeniedRange:
    """One row of the deny table. With ``embeds``, the range carries an IPv4 address
    (a translation or tunnel format) and that address is judged in its place."""

    network: IPNetwork
    reason: str
    embeds: Embedded | None = None


def _row(cidr: str, reason: str, embeds: Embedded | None = None) -> DeniedRange:
    return DeniedRange(ipaddress.ip_network(cidr), reason, embeds)


_PRIVATE, _RESERVED, _DOCS = "a private address", "a reserved address", "a documentation address"

# The IANA IPv4 and IPv6 Special-Purpose Address Registries, every row, plus
# multicast and the blocks outside global unicast. A callback may reach none of
# them, whether or not the registry calls a block "globally reachable" (anycast
# relays and benchmarking nets are no place for a webhook either).
DENY_TABLE: tuple[DeniedRange, ...] = (
    _row("0.0.0.0/8", "an unspecified address ('this network')"),
    _row("10.0.0.0/8", _PRIVATE),
    _row("100.64.0.0/10", f"{_PRIVATE} (shared carrier-grade NAT space)"),
    _row("127.0.0.0/8", "a loopback address"),
    _row("169.254.0.0/16", "a link-local address"),
    _row("172.16.0.0/12", _PRIVATE),
    _row("192.0.0.0/24", f"{_RESERVED} (IETF protocol assignments)"),
    _row("192.0.2.0/24", _DOCS),
    _row("192.31.196.0/24", f"{_RESERVED} (AS112)"),
    _row("192.52.193.0/24", f"{_RESERVED} (AMT)"),
    _row("192.88.99.0/24", f"{_RESERVED} (6to4 relay anycast)"),
    _row("192.168.0.0/16", _PRIVATE),
    _row("192.175.48.0/24", f"{_RESERVED} (AS112 direct delegation)"),
    _row("198.18.0.0/15", f"{_RESERVED} (benchmarking)"),
    _row("198.51.100.0/24", _DOCS),
    _row("203.0.113.0/24", _DOCS),
    _row("224.0.0.0/4", "a multicast address"),
    _row("240.0.0.0/4", f"{_RESERVED} (future use)"),
    _row("255.255.255.255/32", "a broadcast address"),
    _row("::/128", "an unspecified address"),
    _row("::1/128", "a loopback address"),
    _row("::ffff:0:0/96", "IPv4-mapped", _low32),
    _row("::/96", f"{_RESERVED} (IPv4-compatible, deprecated)"),
    _row("::ffff:0:0:0/96", f"{_RESERVED} (IPv4-translated)"),
    _row("64:ff9b::/96", "NAT64", _low32),
    _row("64:ff9b:1::/48", f"{_PRIVATE} (local-use NAT64)"),
    _row("100::/64", f"{_RESERVED} (discard-only)"),
    _row("100:0:0:1::/64", f"{_RESERVED} (dummy prefix)"),
    _row("2001::/32", f"{_RESERVED} (Teredo tunnel)"),
    _row("2001::/23", f"{_RESERVED} (IETF protocol assignments)"),
    _row("2001:db8::/32", _DOCS),
    _row("2002::/16", "6to4", _sixtofour),
    _row("2620:4f:8000::/48", f"{_RESERVED} (AS112 direct delegation)"),
    _row("3fff::/20", _DOCS),
    _row("5f00::/16", f"{_RESERVED} (SRv6 SIDs)"),
    _row("fc00::/7", f"{_PRIVATE} (unique local)"),
    _row("fe80::/10", "a link-local address"),
    _row("fec0::/10", f"{_PRIVATE} (site-local, deprecated)"),
    _row("ff00::/8", "a multicast address"),
)
# Most specific first, so a row inside another (Teredo in 2001::/23) gives its reason.
_LOOKUP = sorted(DENY_TABLE, key=lambda row: -row.network.prefixlen)
_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")


class BlockedDestination(Exception):
    """The callback's host points at an address the service must not call."""


def classify(address: IPAddress) -> str | None:
    """Why ``address`` may not be called, or None when it is a public address."""
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    for row in _LOOKUP:
        if address.version == row.network.version and address in row.network:
            if row.embeds is None:
                return row.reason
            assert isinstance(address, ipaddress.IPv6Address)
            inner = row.embeds(address)
            reason = classify(inner)
            return None if reason is None else f"{reason} ({inner}, embedded in {row.reason})"
    if isinstance(address, ipaddress.IPv6Address) and address not in _GLOBAL_UNICAST_V6:
        return f"{_RESERVED} (outside global unicast)"
    if not address.is_global:  # anything the table missed that Python knows of
        return _RESERVED
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
