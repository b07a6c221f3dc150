"""The egress guard's address rule against the IANA special-purpose registries
(``federation/oidc/special_addresses.yaml``): every block that is not globally reachable
is refused, at its first, last and a middle address; the gaps the security review found
(``fec0::/10``, ``192.0.0.8``) are closed, at send time too."""

from __future__ import annotations

import ipaddress

import pytest

from federation.oidc.addresses import Block, forbidden_address, registry
from federation.oidc.backchannel import EgressRefused, destination

NOT_GLOBAL = [b for b in registry().blocks if b.refused]


def _samples(block: Block) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    net = block.network
    first, last = int(net.network_address), int(net.broadcast_address)
    return [ipaddress.ip_address(n) for n in {first, last, (first + last) // 2}]


def test_the_registry_data_has_the_rows_it_cites() -> None:
    names = {str(b.network): b for b in registry().blocks}
    assert names["192.0.0.8/32"].name == "IPv4 dummy address"
    assert names["192.0.0.8/32"].ref == "RFC 7600" and names["192.0.0.8/32"].refused
    assert names["fec0::/10"].ref == "RFC 3879" and names["fec0::/10"].refused
    assert names["64:ff9b::/96"].reachable == "true"
    assert all(b.reachable in ("true", "false", "n/a") and b.ref for b in registry().blocks)
    assert len(NOT_GLOBAL) == 38 and len(registry().blocks) == 52  # the rows as cited


@pytest.mark.parametrize("block", NOT_GLOBAL, ids=lambda b: str(b.network))
def test_every_block_that_is_not_globally_reachable_is_refused(block: Block) -> None:
    for address in _samples(block):
        assert forbidden_address(address), (str(address), block.name, block.ref)


@pytest.mark.parametrize(
    "address",
    [
        "fec0::1",  # deprecated site-local (RFC 3879): let through before
        "feff:ffff::1",
        "192.0.0.8",  # IPv4 dummy address (RFC 7600): let through before
        "3fff::1",  # documentation (RFC 9637): let through before
        "4000::1",  # outside 2000::/3: reserved by the IETF
        "::ffff:8.8.8.8",  # IPv4-mapped: not globally reachable as such
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    ],
)
def test_the_gaps_are_closed(address: str) -> None:
    assert forbidden_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "2001:4860:4860::8888", "64:ff9b::808:808"])
def test_public_addresses_and_nat64_of_public_ones_are_allowed(address: str) -> None:
    assert not forbidden_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("uri", ["https://[fec0::1]/bc", "https://192.0.0.8/bc"])
async def test_destination_refuses_them_at_send_time(uri: str) -> None:
    with pytest.raises(EgressRefused):
        await destination(uri, allow_private=False)
