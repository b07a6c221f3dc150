"""Request objects (RFC 9101, OIDC Core §6; OIDF OP-request-Unsigned, OP-request_uri-Signed,
oidcc-request-uri-*): by value and by registered reference, signed with the client's
keys, the object's parameters winning — and the negative cases: wrong key, wrong ``aud``,
expired, ``none`` where signing is required, a ``request_uri`` not registered or pointing
at a private address."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from fastapi.responses import Response
from joserfc import jws
from joserfc.jwk import RSAKey

from federation.crypto.jose import encode_jwt
from federation.crypto.keyset import ManagedKey
from federation.oidc.provider import OidcProvider
from tests.federation.journey.harness import ServerThread
from tests.federation.oidc import harness
from tests.federation.oidc.flow import Authorized, authorize, redeem
from tests.federation.oidc.harness import ISSUER, query_of

REDIRECT = "https://ro.example.cn/cb"


@pytest.fixture(scope="module")
def keys() -> dict[str, ManagedKey]:
    return {alg: ManagedKey.generate(alg) for alg in ("SM2SM3", "ES256", "RS256")}


class Host:
    """Where the RP publishes request objects (loopback)."""

    def __init__(self) -> None:
        self.body = b""
        self.url = ""


@pytest.fixture(scope="module")
def host() -> Iterator[Host]:
    published = Host()
    app = FastAPI()

    @app.get("/req.jwt")
    async def request_jwt() -> Response:
        return Response(published.body, media_type="application/oauth-authz-req+jwt")

    with ServerThread(app) as server:
        published.url = server.url
        yield published


def add_client(provider: OidcProvider, client_id: str, **metadata: Any) -> None:
    template = provider.clients.static["rp-es256"]
    data = template.model_dump(by_alias=True)
    data.update(client_id=client_id, redirect_uris=[REDIRECT], **metadata)
    provider.clients.static[client_id] = template.model_validate(data)
    harness.REDIRECTS[client_id] = REDIRECT
    harness.SECRETS[client_id] = harness.SECRETS["rp-es256"]


@pytest.fixture
def clients(provider: OidcProvider, keys: dict[str, ManagedKey], host: Host) -> None:
    # the RSA key names no alg, so it verifies RS256 and PS256 (RFC 7517 §4.4)
    jwks = {
        "keys": [
            {k: v for k, v in key.public_jwk.items() if k != "alg" or alg != "RS256"}
            for alg, key in keys.items()
        ]
    }
    add_client(provider, "ro-any", jwks=jwks, request_uris=[host.url + "/req.jwt"])
    add_client(provider, "ro-signed", jwks=jwks, require_signed_request_object=True)
    add_client(provider, "ro-private", jwks=jwks, request_uris=["https://10.1.2.3/req.jwt"])
    provider.config.client_fetch_allow_private_networks = True


def object_claims(cid: str, provider: OidcProvider, **over: Any) -> dict[str, Any]:
    now = provider.clock()
    claims = {
        "iss": cid,
        "aud": ISSUER,
        "iat": now,
        "exp": now + 120,
        "client_id": cid,
        "response_type": "code",
        "scope": "openid email",
        "state": "from-object",
        "nonce": "n-object",
        "redirect_uri": REDIRECT,
    }
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not None}


def unsigned(claims: dict[str, Any]) -> str:
    part = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return "eyJhbGciOiJub25lIn0." + part + "."


def ps256(claims: dict[str, Any], key: ManagedKey) -> str:
    rsa = RSAKey.import_key(key.to_pem())
    header = {"alg": "PS256", "kid": key.kid}
    return jws.serialize_compact(header, json.dumps(claims).encode(), rsa, algorithms=["PS256"])


@pytest.mark.parametrize("alg", ["SM2SM3", "ES256", "RS256", "PS256"])
async def test_signed_request_object_by_value_and_its_parameters_win(
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    provider: OidcProvider,
    keys: dict[str, ManagedKey],
    clients: None,
    alg: str,
) -> None:
    claims = object_claims("ro-any", provider)
    token = ps256(claims, keys["RS256"]) if alg == "PS256" else encode_jwt(claims, keys[alg])
    # the query says state s-123, scope openid; the object says otherwise and wins
    got = await authorize(http, redis, provider, "ro-any", request=token)
    assert isinstance(got, Authorized), getattr(got, "text", got)
    assert got.params["state"] == "from-object"
    redeemed = await redeem(http, got, "ro-any")
    assert redeemed.status_code == 200, redeemed.text
    assert set(redeemed.json()["scope"].split()) == {"openid", "email"}


async def test_redirect_uri_may_be_in_the_object_only(
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    provider: OidcProvider,
    keys: dict[str, ManagedKey],
    clients: None,
) -> None:
    token = encode_jwt(object_claims("ro-any", provider), keys["ES256"])
    got = await authorize(http, redis, provider, "ro-any", request=token, redirect_uri=None)
    assert isinstance(got, Authorized) and got.redirect.startswith(REDIRECT)


async def test_request_uri_registered_and_fetched(
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    provider: OidcProvider,
    keys: dict[str, ManagedKey],
    clients: None,
    host: Host,
) -> None:
    host.body = encode_jwt(object_claims("ro-any", provider), keys["SM2SM3"]).encode()
    got = await authorize(http, redis, provider, "ro-any", request_uri=host.url + "/req.jwt")
    assert isinstance(got, Authorized), getattr(got, "text", got)
    assert got.params["state"] == "from-object"


async def test_unsigned_object_where_signing_is_not_required(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider, clients: None
) -> None:
    got = await authorize(
        http, redis, provider, "ro-any", request=unsigned(object_claims("ro-any", provider))
    )
    assert isinstance(got, Authorized)


def refused(got: Authorized | httpx.Response) -> dict[str, str]:
    assert isinstance(got, httpx.Response), "the request was accepted"
    assert got.status_code == 302, got.text
    assert got.headers["location"].startswith(REDIRECT)
    return query_of(got.headers["location"])


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("wrong_key", "invalid_request_object"),
        ("wrong_aud", "invalid_request_object"),
        ("no_aud", "invalid_request_object"),
        ("wrong_iss", "invalid_request_object"),
        ("expired", "invalid_request_object"),
        ("not_yet_valid", "invalid_request_object"),
        ("hs256_with_public_key", "invalid_request_object"),
        ("nested", "invalid_request_object"),
        ("other_client_id", "invalid_request_object"),
        ("garbage", "invalid_request_object"),
        ("unregistered_request_uri", "invalid_request_uri"),
        ("both", "invalid_request"),
    ],
)
async def test_bad_request_objects_are_refused(
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    provider: OidcProvider,
    keys: dict[str, ManagedKey],
    clients: None,
    case: str,
    error: str,
) -> None:
    from tests.federation.oidc.test_client_auth import _hs256_with_public_key

    key = keys["ES256"]
    now = provider.clock()
    build = {
        "wrong_key": lambda: encode_jwt(
            object_claims("ro-any", provider), ManagedKey.generate("ES256")
        ),
        "wrong_aud": lambda: encode_jwt(
            object_claims("ro-any", provider, aud="https://other.example"), key
        ),
        "no_aud": lambda: encode_jwt(object_claims("ro-any", provider, aud=None), key),
        "wrong_iss": lambda: encode_jwt(object_claims("ro-any", provider, iss="ro-signed"), key),
        "expired": lambda: encode_jwt(object_claims("ro-any", provider, exp=now - 600), key),
        "not_yet_valid": lambda: encode_jwt(object_claims("ro-any", provider, nbf=now + 600), key),
        "hs256_with_public_key": lambda: _hs256_with_public_key(
            object_claims("ro-any", provider), key.public_jwk
        ),
        "nested": lambda: encode_jwt(
            object_claims("ro-any", provider, request_uri="https://x.example/r"), key
        ),
        "other_client_id": lambda: encode_jwt(
            object_claims("ro-any", provider, client_id="ro-signed"), key
        ),
        "garbage": lambda: "not-a-jwt",
    }
    if case == "unregistered_request_uri":
        got = await authorize(
            http, redis, provider, "ro-any", request_uri="https://ro.example.cn/other.jwt"
        )
    elif case == "both":
        token = encode_jwt(object_claims("ro-any", provider), key)
        got = await authorize(
            http, redis, provider, "ro-any", request=token, request_uri="https://ro.example.cn/r"
        )
    else:
        got = await authorize(http, redis, provider, "ro-any", request=build[case]())
    query = refused(got)
    assert query["error"] == error and query["state"] == "s-123"  # the query's own state


async def test_none_is_refused_where_signing_is_required(
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    provider: OidcProvider,
    keys: dict[str, ManagedKey],
    clients: None,
) -> None:
    none = await authorize(
        http, redis, provider, "ro-signed", request=unsigned(object_claims("ro-signed", provider))
    )
    assert refused(none)["error"] == "invalid_request_object"
    plain = await authorize(http, redis, provider, "ro-signed")
    assert refused(plain)["error"] == "invalid_request"  # RFC 9101 §10.5: an object is required
    signed = encode_jwt(object_claims("ro-signed", provider), keys["RS256"])
    assert isinstance(
        await authorize(http, redis, provider, "ro-signed", request=signed), Authorized
    )


async def test_request_uri_at_a_private_address_is_never_fetched(
    http: httpx.AsyncClient, redis: aioredis.Redis, provider: OidcProvider, clients: None
) -> None:
    provider.config.client_fetch_allow_private_networks = False
    got = await authorize(
        http, redis, provider, "ro-private", request_uri="https://10.1.2.3/req.jwt"
    )
    assert refused(got)["error"] == "invalid_request_uri"


async def test_bad_object_without_a_usable_redirect_is_a_page(
    http: httpx.AsyncClient,
    redis: aioredis.Redis,
    provider: OidcProvider,
    keys: dict[str, ManagedKey],
    clients: None,
) -> None:
    forged = encode_jwt(object_claims("ro-any", provider), ManagedKey.generate("ES256"))
    got = await authorize(http, redis, provider, "ro-any", request=forged, redirect_uri=None)
    assert isinstance(got, httpx.Response) and got.status_code == 400
    assert got.json()["error"] == "invalid_request_object"  # the harness's neutral page
