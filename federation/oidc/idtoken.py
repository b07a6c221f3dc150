"""ID tokens (OIDC Core §2, §3.1.3.6, §12.2).

Claims: ``iss``, ``sub``, ``aud``, ``exp``, ``iat``, ``auth_time``, ``nonce`` (when the
request had one; never on refresh), ``acr``, ``amr``, ``sid``, ``at_hash`` (left half of the
alg's hash: SM3 for SM2SM3) and the consented ID token claims of the grant. Signed with the
client's ``id_token_signed_response_alg`` and a ``kid``.
"""

from __future__ import annotations

from typing import Any

from federation.oidc.clients import Client
from federation.oidc.models import Grant
from federation.oidc.provider import OidcProvider
from federation.oidc.signing import half_hash

PROTECTED = frozenset(
    {
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "acr",
        "amr",
        "sid",
        "at_hash",
        "c_hash",
        "azp",
        "nbf",
        "jti",
    }
)
"""Claims the grant can never override."""


def id_token_claims(
    provider: OidcProvider,
    client: Client,
    grant: Grant,
    *,
    nonce: str | None,
    access_token: str | None,
    code: str | None = None,
) -> dict[str, Any]:
    """The claims of an ID token for ``grant`` at ``client``."""
    now = provider.clock()
    alg = client.id_token_signed_response_alg
    claims: dict[str, Any] = {k: v for k, v in grant.id_token_claims.items() if k not in PROTECTED}
    claims.update(
        iss=provider.issuer,
        sub=grant.subject,
        aud=client.client_id,
        iat=now,
        exp=now + provider.config.id_token_ttl,
        auth_time=grant.auth_time,
    )
    if nonce:
        claims["nonce"] = nonce
    if grant.acr:
        claims["acr"] = grant.acr
    if grant.amr:
        claims["amr"] = list(grant.amr)
    if grant.sid:
        claims["sid"] = grant.sid
    if access_token:
        claims["at_hash"] = half_hash(access_token, alg)
    if code:
        claims["c_hash"] = half_hash(code, alg)
    return claims


def issue_id_token(
    provider: OidcProvider,
    client: Client,
    grant: Grant,
    *,
    nonce: str | None,
    access_token: str | None,
) -> str:
    """A signed ID token (compact JWS) for ``grant`` at ``client``."""
    claims = id_token_claims(provider, client, grant, nonce=nonce, access_token=access_token)
    return provider.signer.sign(claims, client.id_token_signed_response_alg)
