"""Which IP addresses the bridge may send a back-channel request to (the egress guard's
address rule), from the IANA special-purpose address registries written as data
(``special_addresses.yaml``, each row with its registry reference).

An address is refused when it lies in a registry block that is not globally reachable
(RFC 6890 §2.2.2 "Globally Reachable" false or N/A), in IPv4 multicast, or — for IPv6 —
outside ``2000::/3``, the only range IANA assigns unicast from (the IPv6 Address Space
registry; this refuses the deprecated site-local ``fec0::/10``, RFC 3879). Python's
:mod:`ipaddress` is consulted as well and only ever makes the rule stricter (its tables
differ between Python builds). An address in the NAT64 well-known prefix
``64:ff9b::/96`` (RFC 6052 §2.1) is judged by the IPv4 address it embeds.

May import: the standard library and PyYAML only.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

REGISTRY_FILE = Path(__file__).with_name("special_addresses.yaml")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")


@dataclass(frozen=True, slots=True)
class Block:
    """One registry row: the block, its name, its reference and whether it is globally
    reachable (``"true"``, ``"false"`` or ``"n/a"``)."""

    network: IPNetwork
    name: str
    ref: str
    reachable: str

    @property
    def refused(self) -> bool:
        """Every block that is not globally reachable is refused."""
        return self.reachable != "true"


def _rows(rows: list[dict[str, str]]) -> tuple[Block, ...]:
    return tuple(
        Block(ipaddress.ip_network(r["block"]), r["name"], r["ref"], str(r["reachable"]))
        for r in rows
    )


@dataclass(frozen=True, slots=True)
class Registry:
    """The registries' rows as loaded, and the IPv6 global unicast range."""

    blocks: tuple[Block, ...]
    global_unicast: ipaddress.IPv6Network

    @property
    def refused(self) -> tuple[IPNetwork, ...]:
        """Every refused block (a registry row whose ``reachable`` is not ``true``)."""
        return tuple(b.network for b in self.blocks if b.refused)


@cache
def registry(path: Path = REGISTRY_FILE) -> Registry:
    """The rows of ``special_addresses.yaml`` (read once)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    space6 = data["ipv6_address_space"]
    blocks = (
        _rows(data["ipv4_special"])
        + _rows(data["ipv4_address_space"])
        + _rows(data["ipv6_special"])
        + _rows(space6["refused"])
    )
    return Registry(blocks, ipaddress.IPv6Network(space6["global_unicast"]))


def forbidden_address(address: IPAddress) -> bool:
    """True for an address a back-channel request must not go to (see the module
    docstring): a registry block that is not globally reachable, IPv4 multicast, IPv6
    outside ``2000::/3``, or anything :mod:`ipaddress` does not call global."""
    if isinstance(address, ipaddress.IPv6Address) and address in NAT64_WELL_KNOWN:
        return forbidden_address(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    table = registry()
    if any(address in network for network in table.refused if network.version == address.version):
        return True
    if isinstance(address, ipaddress.IPv6Address) and address not in table.global_unicast:
        return True
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )
