"""The back-channel logout sender (Back-Channel Logout 1.0 §2.5): the egress guard at send
time (no token to loopback, private, link-local, … addresses unless
``IDBRIDGE_BACKCHANNEL_ALLOW_PRIVATE_NETWORKS``), no redirects followed, a pinned address
keeps the host name, failures reported not raised, and several RPs told at once."""

from __future__ import annotations

import ipaddress
import time

import httpx
import pytest
import redis.asyncio as aioredis

from federation.oidc.backchannel import (
    EgressRefused,
    destination,
    forbidden_address,
    pinned,
    post_logout_token,
    send_backchannel_logout,
    send_backchannel_logouts,
)
from federation.oidc.provider import OidcProvider
from federation.outbound import HttpClient
from federation.storage.runtime import free_port
from tests.federation.oidc.flow import Authorized, authorize, full_flow
from tests.federation.oidc.receiver import (
    Receiver,
    allow_private_networks,
    receiver,
    with_backchannel,
)

__all__ = ["receiver"]


async def test_a_loopback_uri_gets_nothing_unless_private_networks_are_allowed(
    provider: OidcProvider, receiver: Receiver
) -> None:
    with_backchannel(provider, "rp-sm2", receiver.url)
    client = provider.clients.static["rp-sm2"]
    allow_private_networks(provider, False)  # the default
    assert await send_backchannel_logout(provider, client, sub="s", sid="x") is False
    assert receiver.tokens == [] and receiver.hosts == []  # not even a connection
    allow_private_networks(provider, True)  # the demo and the tests
    assert await send_backchannel_logout(provider, client, sub="s", sid="x") is True
    assert len(receiver.tokens) == 1


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # shared address space (carrier-grade NAT)
        "224.0.0.1",
        "240.0.0.1",
        "0.0.0.0",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::1",  # 6to4 (RFC 3056, deprecated by RFC 7526) around 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 around 169.254.169.254
        "2002:808:808::1",  # 6to4 even around a public address: no host of ours uses it
    ],
)
def test_non_public_addresses_are_forbidden(address: str) -> None:
    assert forbidden_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "202.128.0.1", "2001:4860:4860::8888"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert not forbidden_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "uri",
    [
        "http://localhost:9/bc",  # a name that resolves to loopback
        "https://[::1]/bc",
        "https://10.0.0.5/bc",
        "https://user:pw@169.254.169.254/latest",
        "ftp://8.8.8.8/bc",
        "https:///bc",
        "http://no-such-host.invalid/bc",
    ],
)
async def test_destination_refuses(uri: str) -> None:
    with pytest.raises(EgressRefused) as refused:
        await destination(uri, allow_private=False)
    assert "169.254" not in refused.value.reason and "pw" not in refused.value.reason


async def test_destination_keeps_public_literals_and_pins_names() -> None:
    public = await destination("https://8.8.8.8/bc", allow_private=False)
    assert public.url == "https://8.8.8.8/bc" and not public.pinned
    loose = await destination("http://localhost:9/bc", allow_private=True)
    assert loose.url == "http://localhost:9/bc" and not loose.pinned
    target = pinned("https://rp.example.cn:8443/bc?x=1", ipaddress.ip_address("8.8.8.8"))
    assert target.url == "https://rp.example.cn:8443/bc?x=1" and target.pinned
    assert target.address == ipaddress.ip_address("8.8.8.8")  # the name stays in the URL


async def test_a_pinned_name_is_never_resolved_again(receiver: Receiver) -> None:
    """A name that does not resolve at all still reaches the checked address: the
    connection cannot follow a DNS answer that changed after the check (rebinding)."""
    url = receiver.url.replace("127.0.0.1", "rebind.invalid")
    response = await post_logout_token(pinned(url, ipaddress.ip_address("127.0.0.1")), "t", 5.0)
    assert response.status_code == 200 and receiver.tokens == ["t"]
    assert receiver.hosts == [f"rebind.invalid:{receiver.port}"]


async def test_a_pinned_post_goes_to_the_address_with_the_name(receiver: Receiver) -> None:
    url = receiver.url.replace("127.0.0.1", "rp.example.cn")
    target = pinned(url, ipaddress.ip_address("127.0.0.1"))
    response = await post_logout_token(target, "token-1", 5.0)
    assert response.status_code == 200
    assert receiver.tokens == ["token-1"] and receiver.hosts == [f"rp.example.cn:{receiver.port}"]


async def test_redirects_are_not_followed(provider: OidcProvider, receiver: Receiver) -> None:
    with_backchannel(provider, "rp-sm2", receiver.redirect_url)
    client = provider.clients.static["rp-sm2"]
    assert await send_backchannel_logout(provider, client, sub="s", sid=None) is False
    shared = HttpClient(connect_timeout=2, read_timeout=2, allow_http=True)
    assert await send_backchannel_logout(provider, client, sub="s", sid=None, http=shared) is False
    await shared.aclose()
    assert receiver.tokens == []


async def test_the_rps_answer_body_is_never_read(
    provider: OidcProvider, receiver: Receiver
) -> None:
    """§2.5 needs only the status: an RP answering 200 with an endless body is an
    acknowledgement at once, not megabytes held until the deadline."""
    provider.config = provider.config.model_copy(update={"backchannel_timeout": 3.0})
    with_backchannel(provider, "rp-sm2", receiver.endless_url)
    client = provider.clients.static["rp-sm2"]
    for shared in (None, HttpClient(connect_timeout=2, read_timeout=2, allow_http=True)):
        started = time.monotonic()
        assert await send_backchannel_logout(provider, client, sub="s", sid=None, http=shared)
        assert time.monotonic() - started < 1.5
        if shared is not None:
            await shared.aclose()
    assert len(receiver.tokens) == 2


async def test_failures_are_reported_not_raised(provider: OidcProvider) -> None:
    gone = provider.clients.static["rp-sm2"].model_copy(
        update={"backchannel_logout_uri": f"http://127.0.0.1:{free_port()}/gone"}
    )
    assert await send_backchannel_logout(provider, gone, sub="s", sid=None) is False
    no_uri = provider.clients.static["rp-es256"]
    assert await send_backchannel_logout(provider, no_uri, sub="s", sid=None) is False
    assert await send_backchannel_logouts(provider, [(gone, "s", None), (no_uri, "s", None)]) == ()


async def test_a_slow_rp_times_out_alone(provider: OidcProvider, receiver: Receiver) -> None:
    provider.config = provider.config.model_copy(update={"backchannel_timeout": 0.3})
    receiver.together, receiver.wait = 2, 2.0  # never two at once: it hangs for 2 s
    slow = provider.clients.static["rp-sm2"].model_copy(
        update={"backchannel_logout_uri": receiver.url}
    )
    started = time.monotonic()
    assert await send_backchannel_logouts(provider, [(slow, "s", None)]) == ()
    assert time.monotonic() - started < 1.0  # given up at the deadline, not after its 503


async def test_the_sessions_rps_are_told_at_once(
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    provider: OidcProvider,
    receiver: Receiver,
) -> None:
    receiver.together = 2  # 200 only if both tokens are in flight together, else 503
    with_backchannel(provider, "rp-sm2", receiver.url)
    with_backchannel(provider, "rp-rs256", receiver.url)
    first = await full_flow(http, redis, provider, "rp-es256")
    for other in ("rp-sm2", "rp-rs256"):  # codes issued there: RPs of the same session
        assert isinstance(await authorize(http, redis, provider, other), Authorized)
    response = await http.get("/logout", params={"id_token_hint": first["id_token"]})
    assert response.status_code == 200  # no redirect asked: the signed-out stand-in
    assert receiver.statuses == [200, 200] and len(receiver.tokens) == 2
