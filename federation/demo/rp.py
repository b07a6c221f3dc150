"""The demo e-service as an OpenID Connect relying party of the bridge.

Authorization code flow (OIDC Core §3.1) on authlib's ``AsyncOAuth2Client``: PKCE S256
(RFC 7636), ``state`` (RFC 6749 §10.12) and ``nonce``; the authorization response's ``iss``
is checked (RFC 9207); the code is exchanged with ``client_secret_basic``; the ID token is
verified here with the bridge's JWKS (:mod:`federation.demo.verify`), and UserInfo is read
with the access token (its ``sub`` must equal the ID token's, OIDC Core §5.3.2).
Endpoints come from the bridge's discovery document, cached for five minutes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import httpx2
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client

from federation.demo.sessions import PendingLogin, SignedIn
from federation.demo.settings import DemoServiceSettings
from federation.demo.verify import (
    TokenRejected,
    VerifiedToken,
    verify_id_token,
    verify_logout_token,
)

DISCOVERY_TTL = 300.0


class BridgeUnavailable(Exception):
    """The bridge could not be reached or answered something unusable."""


class AuthorizationFailed(Exception):
    """The bridge answered with an OAuth error (RFC 6749 §4.1.2.1, §5.2)."""

    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(error)
        self.error = error
        self.description = description


class LoginRejected(Exception):
    """The callback or a token failed a check (``reason`` names it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DemoRelyingParty:
    """Everything the e-service's routes need to talk OIDC to the bridge."""

    def __init__(
        self,
        settings: DemoServiceSettings,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.issuer = settings.issuer.rstrip("/")
        self._transport = transport or httpx2.AsyncHTTPTransport()
        self._metadata: tuple[float, dict[str, Any]] | None = None
        self._jwks: dict[str, Any] | None = None

    def _client(self, **kwargs: Any) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            self.settings.client_id,
            self.settings.client_secret.get_secret_value(),
            token_endpoint_auth_method="client_secret_basic",  # noqa: S106
            scope=self.settings.scope,
            redirect_uri=self.settings.redirect_uri,
            code_challenge_method="S256",
            transport=self._transport,
            timeout=self.settings.http_timeout_seconds,
            **kwargs,
        )

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with httpx2.AsyncClient(
                transport=self._transport, timeout=self.settings.http_timeout_seconds
            ) as http:
                response = await http.get(url)
        except httpx2.HTTPError as exc:
            raise BridgeUnavailable(type(exc).__name__) from exc
        if response.status_code != 200:
            raise BridgeUnavailable(f"{url} answered {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            raise BridgeUnavailable(f"{url} answered no JSON") from exc
        if not isinstance(data, dict):
            raise BridgeUnavailable(f"{url} answered no JSON object")
        return data

    async def metadata(self) -> dict[str, Any]:
        """The bridge's discovery document (OIDC Discovery 1.0 §4), issuer checked (§4.3)."""
        now = time.monotonic()
        if self._metadata is None or self._metadata[0] < now:
            data = await self._get_json(self.issuer + "/.well-known/openid-configuration")
            if data.get("issuer") != self.issuer:
                raise BridgeUnavailable("discovery issuer differs from the configured issuer")
            self._metadata = (now + DISCOVERY_TTL, data)
        return self._metadata[1]

    async def jwks(self, *, refresh: bool = False) -> dict[str, Any]:
        """The bridge's keys (refetched on demand, e.g. after key rotation): ``jwks_uri``
        holds the IANA-registered ones, ``sm2_jwks_uri`` the SM2 ones (docs/oidc.md)."""
        if self._jwks is None or refresh:
            metadata = await self.metadata()
            keys: list[Any] = []
            for member in ("jwks_uri", "sm2_jwks_uri"):
                if member in metadata:
                    keys += (await self._get_json(metadata[member])).get("keys", [])
            self._jwks = {"keys": keys}
        return self._jwks

    async def start_login(
        self, locale: str, claims: Mapping[str, Any] | None = None
    ) -> tuple[str, PendingLogin]:
        """The URL to send the browser to, and what to remember until the callback."""
        endpoint = (await self.metadata())["authorization_endpoint"]
        pending = PendingLogin(
            state=generate_token(32),
            nonce=generate_token(32),
            code_verifier=generate_token(64),
            locale=locale,
        )
        extra: dict[str, Any] = {"nonce": pending.nonce, "ui_locales": locale}
        if claims:
            extra["claims"] = json.dumps(claims, separators=(",", ":"))
        async with self._client() as client:
            url, _ = client.create_authorization_url(
                endpoint, state=pending.state, code_verifier=pending.code_verifier, **extra
            )
        return url, pending

    async def finish_login(self, params: Mapping[str, str], pending: PendingLogin) -> SignedIn:
        """Handle the authorization response: errors, ``iss``, code → tokens → verified ID
        token → UserInfo. Raises :class:`AuthorizationFailed`, :class:`LoginRejected`
        or :class:`BridgeUnavailable`."""
        if params.get("iss") != self.issuer:
            raise LoginRejected("iss")  # RFC 9207 §2.4: mix-up defence, before anything
        if "error" in params:
            raise AuthorizationFailed(
                params["error"][:64], params.get("error_description", "")[:300]
            )
        code = params.get("code")
        if not code:
            raise LoginRejected("code")
        metadata = await self.metadata()
        async with self._client() as client:
            try:
                token = await client.fetch_token(
                    metadata["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=pending.code_verifier,
                )
            except httpx2.HTTPError as exc:
                raise BridgeUnavailable(type(exc).__name__) from exc
            except Exception as exc:  # authlib raises OAuthError subclasses for error JSON
                raise AuthorizationFailed(getattr(exc, "error", "invalid_grant"), "") from exc
            verified = await self._verify(token, pending.nonce)
            try:
                answer = await client.get(metadata["userinfo_endpoint"])
            except httpx2.HTTPError as exc:
                raise BridgeUnavailable(type(exc).__name__) from exc
        if answer.status_code != 200:
            raise LoginRejected("userinfo")
        userinfo = answer.json()
        if userinfo.get("sub") != verified.claims["sub"]:
            raise LoginRejected("userinfo_sub")
        return SignedIn(
            id_token=verified.raw,
            header=verified.header,
            claims=verified.claims,
            checks=verified.checks,
            userinfo=userinfo,
            token_response={k: v for k, v in token.items() if k not in ("id_token",)},
        )

    async def _verify(self, token: Mapping[str, Any], nonce: str) -> VerifiedToken:
        raw = token.get("id_token")
        if not isinstance(raw, str):
            raise LoginRejected("id_token")
        for refresh in (False, True):  # an unknown kid may mean the bridge rotated keys
            try:
                return verify_id_token(
                    raw,
                    await self.jwks(refresh=refresh),
                    issuer=self.issuer,
                    client_id=self.settings.client_id,
                    nonce=nonce,
                    access_token=token.get("access_token"),
                    now=int(time.time()),
                    algorithms=self.settings.id_token_algorithms,
                    leeway=self.settings.clock_skew_seconds,
                )
            except TokenRejected as exc:
                if exc.reason != "signature" or refresh:
                    raise LoginRejected(exc.reason) from exc
        raise LoginRejected("signature")  # pragma: no cover - loop always returns or raises

    async def verify_logout(self, raw: str) -> VerifiedToken:
        """Verify a back-channel logout token (raises :class:`TokenRejected`)."""
        return verify_logout_token(
            raw,
            await self.jwks(),
            issuer=self.issuer,
            client_id=self.settings.client_id,
            now=int(time.time()),
            algorithms=self.settings.id_token_algorithms,
            leeway=self.settings.clock_skew_seconds,
        )

    async def logout_url(self, id_token: str | None, locale: str) -> str:
        """RP-initiated logout (RP-Initiated Logout 1.0 §2) back to ``/logged-out``."""
        endpoint = (await self.metadata()).get("end_session_endpoint")
        if not endpoint:
            return self.settings.post_logout_redirect_uri
        params = {
            "client_id": self.settings.client_id,
            "post_logout_redirect_uri": self.settings.post_logout_redirect_uri,
            "state": generate_token(16),
            "ui_locales": locale,
        }
        if id_token:
            params["id_token_hint"] = id_token
        return f"{endpoint}?{urlencode(params)}"

    async def aclose(self) -> None:
        """Close the shared connection pool."""
        await self._transport.aclose()
