"""RFC 7592 registration access: the ``registration_access_token`` a dynamically
registered client gets with its registration (§3), stored only as an HMAC-SM3 digest
(``Client.registration_token_digest``, the same server key as client secrets), and its
``registration_client_uri`` (§3.1).

Used by :mod:`federation.oidc.registration` (issue) and
:mod:`federation.oidc.client_config` (check); imports neither.
"""

from __future__ import annotations

import hmac

from federation.oidc.clients import Client
from federation.oidc.errors import OAuthError, bearer_error
from federation.oidc.provider import OidcProvider

CONFIGURATION_PATH = "/register/"


def new_registration_token(provider: OidcProvider) -> tuple[str, str]:
    """(token, digest): 256 random bits, and the digest to store."""
    token = provider.secrets.generate()
    return token, provider.secrets.digest(token)


def registration_client_uri(provider: OidcProvider, client_id: str) -> str:
    """The client configuration endpoint of ``client_id`` (RFC 7592 §2)."""
    return provider.issuer + CONFIGURATION_PATH + client_id


def check_registration_token(
    provider: OidcProvider, client: Client | None, authorization: str | None
) -> Client:
    """The client whose ``registration_access_token`` is presented (``Authorization:
    Bearer``, RFC 7592 §2, RFC 6750 §2.1); 401 ``invalid_token`` otherwise — also for an
    unknown or static client, so that the answer says nothing about which ids exist."""
    scheme, _, presented = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise bearer_error("invalid_token", "a registration access token is required", 401)
    expected = client.registration_token_digest if client is not None else None
    digest = provider.secrets.digest(presented.strip())
    if client is None or not expected or not hmac.compare_digest(digest, expected):
        raise bearer_error("invalid_token", "the registration access token is invalid", 401)
    return client


__all__ = [
    "OAuthError",
    "check_registration_token",
    "new_registration_token",
    "registration_client_uri",
]
