"""IPv6 callers count by their /64 (configurable), IPv4 callers by their address
(``federation.addresses``; issue 24: a /64 must not be an unlimited pool)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from federation.addresses import address_bucket
from tests.federation.oidc.harness import clock, provider, signing_keys
from tests.federation.test_ratelimit import LIMIT, _clear_of_a_window_edge, client_from

__all__ = ["_clear_of_a_window_edge", "client_from", "clock", "provider", "signing_keys"]


def test_ipv6_counts_by_prefix() -> None:
    one = address_bucket("2001:db8:1:2::1")
    assert one == "2001:db8:1:2::/64"
    assert address_bucket("2001:db8:1:2:ffff:ffff:ffff:ffff") == one
    assert (
        address_bucket("[2001:db8:1:2::7]") == one and address_bucket("2001:db8:1:2::7%eth0") == one
    )
    assert address_bucket("2001:db8:1:3::1") != one
    assert address_bucket("2001:db8:1:2::1", 128) != address_bucket("2001:db8:1:2::2", 128)
    assert address_bucket("2001:db8:1:2::1", 48) == address_bucket("2001:db8:1:ffff::1", 48)


def test_ipv4_and_others_as_they_are() -> None:
    assert address_bucket("192.0.2.7") == "192.0.2.7"
    assert address_bucket("::ffff:192.0.2.7") == "192.0.2.7"
    assert address_bucket("unknown") == "unknown"


async def test_one_ipv6_64_shares_one_rate_limit(
    client_from: Callable[..., httpx.AsyncClient],
) -> None:
    for i in range(LIMIT):  # a new address of the /64 each time
        assert (await client_from(f"2001:db8:5:6::{i + 1:x}").get("/userinfo")).status_code == 401
    refused = await client_from("2001:db8:5:6:abcd::1").get("/userinfo")
    assert refused.status_code == 429
    assert (await client_from("2001:db8:5:7::1").get("/userinfo")).status_code == 401
    apart = client_from("2001:db8:5:6::99", rate_limit_ipv6_prefix=128)
    assert (await apart.get("/userinfo")).status_code == 401  # /128: every address apart
