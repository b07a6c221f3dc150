"""Driving the self-service area with the journey harness's browser (``Person``)."""

from __future__ import annotations

import re

import httpx
import redis.asyncio as aioredis

from consent.services import ConsentServices, build_consent_services
from federation.journey.bindings import OidcGrantRevoker
from federation.oidc.config import OidcConfig
from federation.oidc.provider import OidcProvider
from federation.storage.keys import Keys
from tests.federation.journey.harness import (
    PII_KEY,
    Bridge,
    Person,
    authorize_url,
    consent,
    exchange,
    finish,
    form_fields,
    rp_client,
)


async def consent_at(bridge: Bridge, person: Person, client_id: str = "rp-sm2") -> dict:
    """The person signs in at an RP and consents; the RP's tokens (authlib)."""
    client = rp_client(bridge, client_id, scope="openid profile offline_access")
    url, _, _, verifier = await authorize_url(bridge, client)
    page = await person.go(url) if person.http.cookies.get("idb_session") else None
    if page is None or "/sim/app/login/" in page.text:
        page = await person.sign_in(url)
    answer = await finish(person, await consent(person, page))
    return await exchange(bridge, client, answer, verifier)


async def open_self_service(bridge: Bridge, person: Person) -> httpx.Response:
    """From "Manage your consents" to the list (reusing the bridge session, or signing in
    at iAM Smart when there is none)."""
    page = await person.go(bridge.url + "/consents/login")
    if "/sim/app/login/" in page.text:
        page = await person.sign_in(bridge.url + "/consents/login")
    assert page.status_code == 200 and str(page.url) == bridge.url + "/consents", page.text[:400]
    return page


def consent_ids(html: str) -> list[str]:
    """Consent ids linked from a self-service page."""
    return sorted(set(re.findall(r"/consents/(cns_[A-Za-z0-9_-]+)/", html)))


async def withdraw(bridge: Bridge, person: Person, consent_id: str) -> httpx.Response:
    """Open the confirmation page and confirm."""
    page = await person.go(f"{bridge.url}/consents/{consent_id}/withdraw")
    assert page.status_code == 200, page.text[:300]
    token = form_fields(page.text)["csrf_token"]
    return await person.go(
        f"{bridge.url}/consents/{consent_id}/withdraw", data={"csrf_token": token}
    )


def consent_services(bridge: Bridge, redis: aioredis.Redis) -> ConsentServices:
    """The consent services as the bridge wires them (for the lifecycle in tests)."""
    provider = OidcProvider.from_settings(
        bridge.settings,
        OidcConfig(
            clients_file=bridge.env["IDBRIDGE_CLIENTS_FILE"],
            client_secret_key=bridge.env["IDBRIDGE_CLIENT_SECRET_KEY"],
            backchannel_allow_private_networks=True,  # the RP listens on 127.0.0.1
        ),
    )
    return build_consent_services(
        redis,
        pii_key=bytes.fromhex(PII_KEY),
        revoker=OidcGrantRevoker(provider, redis),
        issuer=bridge.url,
    )


async def consent_records(redis: aioredis.Redis) -> list[dict[str, str]]:
    """Every consent record hash in Redis."""
    keys = [k for k in await redis.keys(Keys.consent("*")) if k.count(":") == 2]
    return [await redis.hgetall(k) for k in keys]


EVENT = "http://schemas.openid.net/event/backchannel-logout"


async def assert_grant_ended(
    bridge: Bridge,
    redis: aioredis.Redis,
    token: dict,
    *,
    client_id: str,
    logout_tokens_before: int,
    action: str,
) -> None:
    """Issue 6 "Must show": introspection inactive, /userinfo 401, refresh invalid_grant,
    a back-channel logout token at the RP, and the audit event ``action``."""
    from federation.crypto.jose import decode_jwt
    from tests.federation.journey.harness import audit_actions, secret_of, verify_id_token

    sub = verify_id_token(bridge, token["id_token"], client_id)["sub"]
    auth = (client_id, secret_of(client_id))
    async with httpx.AsyncClient(base_url=bridge.url, timeout=20) as http:
        introspected = await http.post(
            "/introspect", data={"token": token["access_token"]}, auth=auth
        )
        assert introspected.json() == {"active": False}
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        assert (await http.get("/userinfo", headers=bearer)).status_code == 401
        refreshed = await http.post(
            "/token",
            data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
            auth=auth,
        )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    assert len(bridge.rp.logout_tokens) == logout_tokens_before + 1
    header, claims = decode_jwt(bridge.rp.logout_tokens[-1], bridge.jwks, algorithms=["SM2SM3"])
    assert header["typ"] == "logout+jwt" and claims["sub"] == sub and EVENT in claims["events"]
    assert claims["aud"] == client_id and "nonce" not in claims
    assert action in audit_actions(await redis.xrange(Keys.AUDIT_STREAM))
