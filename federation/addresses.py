"""Which "address" a caller counts as, for the per-address rate limits and the cap on live
journeys (issue 24): an IPv4 address as it is, an IPv6 address by its prefix
(``IDBRIDGE_RATE_LIMIT_IPV6_PREFIX``, default /64 — one subscriber's allocation, RFC 6177,
so that the 2^64 addresses of one /64 count as one).

Layer 1: imports nothing of ours.
"""

from __future__ import annotations

import ipaddress

DEFAULT_IPV6_PREFIX = 64


def address_bucket(address: str, ipv6_prefix: int = DEFAULT_IPV6_PREFIX) -> str:
    """The counting key of ``address``: IPv4 unchanged, IPv6 (and IPv4-mapped IPv6 as its
    IPv4) as ``<network>/<prefix>``; anything else (``unknown``, a name) unchanged."""
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]").partition("%")[0])
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        network = ipaddress.IPv6Network((ip, ipv6_prefix), strict=False)
        return f"{network.network_address}/{ipv6_prefix}"
    return str(ip)


__all__ = ["DEFAULT_IPV6_PREFIX", "address_bucket"]
