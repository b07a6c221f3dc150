"""The self-service area as a relying party of the bridge itself.

Registered in memory at build time (never from YAML, never by dynamic registration, whose
ids all start with ``dyn-``): redirect URI ``<issuer>/consents/callback``, post-logout
URI ``<issuer>/consents/signed-out``, scope ``openid`` only, no refresh tokens. Its secret
digest is that of a random value nobody holds, so the client cannot be used at ``/token``
over HTTP: the area redeems its codes in-process (:func:`federation.oidc.token.token_response`,
the same code path, PKCE included).
"""

from __future__ import annotations

import secrets

from federation.oidc.clients import Client, Texts
from federation.oidc.provider import OidcProvider

SELF_SERVICE_CLIENT_ID = "idbridge-self-service"
BASE_PATH = "/consents"
CALLBACK_PATH = BASE_PATH + "/callback"
SIGNED_OUT_PATH = BASE_PATH + "/signed-out"

_NAME = Texts.model_validate(
    {
        "zh-HK": "身份橋接服務：管理你的同意",
        "zh-CN": "身份桥接服务：管理你的同意",
        "en": "Identity bridge: manage your consents",
    }
)
_PURPOSE = Texts.model_validate(
    {
        "zh-HK": "讓你查看及撤回你的同意",
        "zh-CN": "让你查看及撤回你的同意",
        "en": "Lets you see and withdraw your consents",
    }
)


def self_service_client(provider: OidcProvider, contact: str | None = None) -> Client:
    """The in-memory client for ``provider``'s issuer. Its recipient is the bridge itself:
    ``contact`` is the operator's privacy officer (the issuer when none is configured), so
    that its notice is complete wherever a worker re-reads the journey's client."""
    issuer = provider.issuer.rstrip("/")
    # model_construct: the URIs are the issuer's own, which the bridge accepts as configured
    # (RP redirect URIs must be https or loopback; the issuer is the operator's choice)
    return Client.model_construct(
        client_id=SELF_SERVICE_CLIENT_ID,
        client_name=_NAME,
        redirect_uris=(issuer + CALLBACK_PATH,),
        post_logout_redirect_uris=(issuer + SIGNED_OUT_PATH,),
        client_secret_digest=provider.secrets.digest(secrets.token_urlsafe(32)),
        purposes=_PURPOSE,
        processing_method=_PURPOSE,
        rights_procedure=_PURPOSE,
        retention=_PURPOSE,
        contacts=(contact or provider.issuer,),
        scopes=("openid",),
        grant_types=("authorization_code",),
        consent_remember_seconds=0,
    )


def register_self_service_client(provider: OidcProvider, contact: str | None = None) -> Client:
    """Add the client to the provider's static clients (refuses a YAML client of that id)."""
    if SELF_SERVICE_CLIENT_ID in provider.clients.static:
        raise ValueError(f"client id {SELF_SERVICE_CLIENT_ID!r} is reserved for the bridge")
    client = self_service_client(provider, contact)
    provider.clients.static[SELF_SERVICE_CLIENT_ID] = client
    return client
