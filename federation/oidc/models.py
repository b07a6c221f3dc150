"""The two objects the login journey exchanges with the provider.

:class:`AuthorizationRequest` is what a validated ``/authorize`` (or PAR) request says;
:class:`Grant` is what the journey decided: who the person is to this RP and which claims
were consented. Both are frozen and JSON-serialisable, so the journey can keep them in its
Redis record.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from federation.oidc.clients import Client


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """A validated authentication request (OIDC Core §3.1.2.1, RFC 7636, RFC 9126)."""

    client: Client
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    nonce: str | None
    code_challenge: str
    issuer: str
    prompt: tuple[str, ...] = ()
    max_age: int | None = None
    claims: Mapping[str, Any] | None = None
    """The parsed ``claims`` parameter (OIDC Core §5.5): ``{"userinfo": {…}, "id_token": {…}}``."""
    ui_locales: tuple[str, ...] = ()
    """Requested languages the bridge supports, in the RP's order (zh-HK, zh-CN, en)."""
    acr_values: tuple[str, ...] = ()
    login_hint: str | None = None
    id_token_hint_subject: str | None = None
    """``sub`` of a valid ``id_token_hint`` this provider issued to this client."""
    id_token_hint_sid: str | None = None
    response_mode: str = "query"
    """``query`` or ``form_post`` (OAuth 2.0 Form Post Response Mode)."""

    @property
    def client_id(self) -> str:
        """The RP's client id."""
        return self.client.client_id

    def essential_claims(self, target: str = "userinfo") -> tuple[str, ...]:
        """Claim names the RP marked ``essential`` in ``claims[target]``."""
        wanted = (self.claims or {}).get(target) or {}
        return tuple(
            name
            for name, spec in wanted.items()
            if isinstance(spec, dict) and spec.get("essential")
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (the client's metadata is embedded)."""
        return {
            "client": self.client.model_dump(mode="json", by_alias=True),
            "redirect_uri": self.redirect_uri,
            "scopes": list(self.scopes),
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": self.code_challenge,
            "issuer": self.issuer,
            "prompt": list(self.prompt),
            "max_age": self.max_age,
            "claims": dict(self.claims) if self.claims is not None else None,
            "ui_locales": list(self.ui_locales),
            "acr_values": list(self.acr_values),
            "login_hint": self.login_hint,
            "id_token_hint_subject": self.id_token_hint_subject,
            "id_token_hint_sid": self.id_token_hint_sid,
            "response_mode": self.response_mode,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuthorizationRequest:
        """Inverse of :meth:`to_dict` (``client`` may also be a :class:`Client` already)."""
        client = data["client"]
        return cls(
            client=client
            if isinstance(client, Client)
            else _client(json.dumps(client, sort_keys=True, ensure_ascii=False)),
            redirect_uri=str(data["redirect_uri"]),
            scopes=tuple(data["scopes"]),
            state=data.get("state"),
            nonce=data.get("nonce"),
            code_challenge=str(data["code_challenge"]),
            issuer=str(data["issuer"]),
            prompt=tuple(data.get("prompt") or ()),
            max_age=data.get("max_age"),
            claims=data.get("claims"),
            ui_locales=tuple(data.get("ui_locales") or ()),
            acr_values=tuple(data.get("acr_values") or ()),
            login_hint=data.get("login_hint"),
            id_token_hint_subject=data.get("id_token_hint_subject"),
            id_token_hint_sid=data.get("id_token_hint_sid"),
            response_mode=str(data.get("response_mode") or "query"),
        )


@functools.lru_cache(maxsize=256)
def _client(canonical: str) -> Client:
    """A client's metadata validated once per distinct value (``Client`` is frozen): a
    journey loads its request at every step, and validating the embedded client (URIs,
    scopes, texts) was a third of loading the journey record."""
    return Client.model_validate(json.loads(canonical))


@dataclass(frozen=True, slots=True)
class Grant:
    """What the journey grants the RP for one authorization (after login and consent)."""

    subject: str
    """The RP-facing ``sub`` (pairwise or public, :mod:`mappings.subjects`; the sector of a
    pairwise client is :attr:`Client.sector`)."""
    scopes: tuple[str, ...]
    """Scopes granted (a subset of the requested ones; must include ``openid``)."""
    auth_time: int
    bridge_subject: str = ""
    """The person's pseudonymous bridge subject (consent records, revocation); defaults to
    ``subject``."""
    id_token_claims: Mapping[str, Any] = field(default_factory=dict)
    """Consented claims to put in the ID token (e.g. those requested via ``claims.id_token``)."""
    userinfo_claims: Mapping[str, Any] = field(default_factory=dict)
    """Consented claims served by ``/userinfo`` (and nothing else)."""
    acr: str | None = None
    amr: tuple[str, ...] = ()
    sid: str | None = None
    """The bridge session id (``Keys.session``) for logout."""
    consent_id: str | None = None
    """The consent record this grant rests on; checked by the ``ConsentChecker``."""
    claim_scopes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Claim name → the scopes that select it in the client's mapping profile (missing or
    empty: bound to no scope); lets a refresh with a narrower scope narrow the claims."""

    def narrowed(self, scopes: tuple[str, ...] | list[str]) -> Grant:
        """This grant for an access token of ``scopes`` only (RFC 6749 §6: a refresh may
        ask for less): claims selected only by scopes it leaves out are dropped, also
        inside ``verified_claims``. The grant itself (and its refresh token) keeps all."""
        keep = set(scopes)
        if keep >= set(self.scopes):
            return self
        return replace(
            self,
            scopes=tuple(scope for scope in self.scopes if scope in keep),
            id_token_claims=self._claims_within(self.id_token_claims, keep),
            userinfo_claims=self._claims_within(self.userinfo_claims, keep),
        )

    def _claims_within(self, claims: Mapping[str, Any], keep: set[str]) -> dict[str, Any]:
        def allowed(name: str) -> bool:
            bound = self.claim_scopes.get(name)
            return not bound or bool(keep.intersection(bound))

        out = {k: v for k, v in claims.items() if k == "verified_claims" or allowed(k)}
        verified = out.get("verified_claims")
        if isinstance(verified, Mapping) and isinstance(verified.get("claims"), Mapping):
            inner = {k: v for k, v in verified["claims"].items() if allowed(k)}
            if inner:
                out["verified_claims"] = {**verified, "claims": inner}
            else:
                del out["verified_claims"]
        return out

    @property
    def person(self) -> str:
        """The subject used to index grants for revocation."""
        return self.bridge_subject or self.subject

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "subject": self.subject,
            "scopes": list(self.scopes),
            "auth_time": self.auth_time,
            "bridge_subject": self.bridge_subject,
            "id_token_claims": dict(self.id_token_claims),
            "userinfo_claims": dict(self.userinfo_claims),
            "acr": self.acr,
            "amr": list(self.amr),
            "sid": self.sid,
            "consent_id": self.consent_id,
            "claim_scopes": {k: list(v) for k, v in self.claim_scopes.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Grant:
        """Inverse of :meth:`to_dict`."""
        return cls(
            subject=str(data["subject"]),
            scopes=tuple(data["scopes"]),
            auth_time=int(data["auth_time"]),
            bridge_subject=str(data.get("bridge_subject") or ""),
            id_token_claims=dict(data.get("id_token_claims") or {}),
            userinfo_claims=dict(data.get("userinfo_claims") or {}),
            acr=data.get("acr"),
            amr=tuple(data.get("amr") or ()),
            sid=data.get("sid"),
            consent_id=data.get("consent_id"),
            claim_scopes={str(k): tuple(v) for k, v in (data.get("claim_scopes") or {}).items()},
        )
