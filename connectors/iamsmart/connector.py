"""The iAM Smart connector: what the journey uses (``CallbackConnector`` and
``AttributeConnector`` from ``connectors.base``).

Login: :meth:`IAMSmartConnector.login_redirect` builds the ``getQR`` URL (§1.3);
:meth:`~IAMSmartConnector.handle_callback` checks ``state``, maps ``error_code`` to a typed
error, calls ``getToken`` at once and returns an :class:`IdentityRecord` (subject = the
pairwise ``openID``, assurance from ``userType``, ``attributes_version`` =
``lastModifiedDate``). Attributes: profile / e-ME ``initiateRequest`` (§1.6), then the
encrypted result callback. Never logs values, only field names and codes.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

import redis.asyncio as aioredis

from connectors.base import (
    AttributeRequest,
    AttributeResult,
    LoginRedirect,
    UpstreamDenied,
    UpstreamError,
    UpstreamProtocolError,
)
from connectors.iamsmart.attributes import (
    IAMSMART_FIELDS_FOR,
    attributes_from_iamsmart,
    plan_requests,
)
from connectors.iamsmart.cek import CekCache
from connectors.iamsmart.client import EME_REQUEST, GET_QR, PROFILE_REQUEST, IAMSmartClient
from connectors.iamsmart.config import IAMSmartConfig, Language
from connectors.iamsmart.errors import SUCCESS
from connectors.iamsmart.results import (
    Binding,
    BindingStore,
    Correlation,
    find_binding,
    new_business_id,
    verified_channel,
)
from connectors.iamsmart.sources import is_mobile, source_for_user_agent
from federation import untrusted
from federation.identity import Assurance, Attr, IdentityRecord
from federation.outbound import Poster

log = logging.getLogger("idbridge.connectors.iamsmart")

_TXID_ONLY = Correlation("insecure_txid")
"""A clear refusal over a verified channel is matched on its txID (or plain businessID)."""
_CORRELATION = frozenset({"businessID", "state"})
"""Result content fields that correlate, not attributes."""
STATE_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,36}")  # fullmatch: "$" lets "\n" through


def new_state() -> str:
    """A fresh upstream ``state``: 32 URL-safe characters (≤ 36, ``[A-Za-z0-9_-]``)."""
    return secrets.token_urlsafe(24)


def iamsmart_language(tag: str, default: Language = "zh-HK") -> Language:
    """A BCP 47 tag as one of the three ``lang`` values getQR accepts."""
    low = tag.strip().lower().replace("_", "-")
    if low.startswith("en"):
        return "en-US"
    if low in {"zh-cn", "zh-sg"} or low.startswith("zh-hans"):
        return "zh-CN"
    if low.startswith("zh"):
        return "zh-HK"
    return default


class IAMSmartConnector:
    """One iAM Smart registration. Share one instance per process."""

    def __init__(
        self,
        config: IAMSmartConfig,
        *,
        redis: aioredis.Redis | None = None,
        http: Poster | None = None,
    ) -> None:
        self.config = config
        self.id = config.id
        self.cek = CekCache(config, redis)
        self.client = IAMSmartClient(config, http=http, cek=self.cek)
        self.bindings = BindingStore(config, redis)
        self._profile_refused = False

    async def aclose(self) -> None:
        """Close the HTTP pool."""
        await self.client.aclose()

    # --- CallbackConnector ---------------------------------------------------------
    def login_redirect(self, *, state: str, user_agent: str, language: str) -> LoginRedirect:
        """The ``getQR`` URL for one journey (§1.3)."""
        if not STATE_PATTERN.fullmatch(state):
            raise ValueError("state must match [A-Za-z0-9_-]{1,36}")
        cfg = self.config
        source = source_for_user_agent(user_agent)
        mobile = is_mobile(source)
        params = {
            "clientID": cfg.client_id,
            "responseType": "code",
            "source": source,
            "redirectURI": cfg.redirect_uri,
            "scope": " ".join(cfg.scopes),
            "lang": iamsmart_language(language, cfg.default_language),
            "state": state,
        }
        in_app = source.endswith("_IMS_InAppBrowser")
        if mobile and cfg.broker_page_on_mobile and (cfg.broker_page_in_app_browser or not in_app):
            # inside the iAM Smart in-app browser there is no app to hand over to (CORPH)
            params["brokerPage"] = "true"
        url = f"{cfg.api_base_url}{GET_QR}?{urlencode(params, quote_via=quote)}"
        return LoginRedirect(
            url=url,
            state=state,
            mode="app" if mobile else "qr",
            callback_window_seconds=cfg.callback_window_seconds,
        )

    async def handle_callback(
        self, params: Mapping[str, str], *, expected_state: str
    ) -> IdentityRecord:
        """Callback → ``getToken`` → :class:`IdentityRecord` (no attributes yet)."""
        state = params.get("state") or ""
        if not expected_state or not secrets.compare_digest(
            state.encode(), expected_state.encode()
        ):
            raise UpstreamProtocolError(
                "iAM Smart callback state does not match the journey", message_key="upstream.state"
            )
        error_code = params.get("error_code")
        if error_code:
            raise self.client.codes.error_for(error_code, context="login")
        code = params.get("code") or ""
        if not code:
            # "If the user denies it, only the state parameter will be redirected" (SBX
            # p.28, IAMS-C §1.4.1): the person declined — not a protocol error
            raise UpstreamDenied("iAM Smart login declined (state only)")
        # a raw "+" in the query has become a space (form decoding); a code has no spaces
        code = code.replace(" ", "+")
        if len(code) > 512:
            raise UpstreamProtocolError("iAM Smart callback code too long")
        token = await self.client.get_token(code)
        assurance = Assurance.IAMSMART_PLUS if token.user_type == "sign" else Assurance.IAMSMART
        expires_ms = (token.issue_at_ms or int(time.time() * 1000)) + token.expires_in_ms
        log.info("iAM Smart login", extra={"fields": {"user_type": token.user_type}})
        return IdentityRecord(
            upstream=self.id,
            subject=token.open_id,
            assurance=assurance,
            authenticated_at=(token.issue_at_ms // 1000) or int(time.time()),
            attributes={},
            attributes_version=token.last_modified_date,
            connector_data=json.dumps(
                {"at": token.access_token, "oid": token.open_id, "exp": expires_ms}
            ),
        )

    # --- AttributeConnector --------------------------------------------------------
    async def start_attribute_request(
        self,
        identity: IdentityRecord,
        wanted: Iterable[str],
        *,
        state: str,
        user_agent: str,
        language: str,
    ) -> AttributeRequest | None:
        """The next profile or e-ME request for attributes ``identity`` lacks (§1.6).

        A profile request refused as forbidden (``profile_fallback`` codes, ``D20012``: the
        profile API may be reserved for government bureaux) is asked again through e-ME,
        and this connector asks e-ME from then on."""
        missing = [Attr(a) for a in wanted if a not in identity.attributes]
        try:
            return await self._start(identity, missing, state, user_agent, language)
        except UpstreamError as exc:
            if exc.upstream_code not in self.client.codes.flagged("profile_fallback") or (
                self._profile_refused or not self.config.use_profile_api
            ):
                raise
            log.warning("iAM Smart refused the profile API; asking through e-ME")
            self._profile_refused = True
            return await self._start(identity, missing, state, user_agent, language)

    async def _start(
        self,
        identity: IdentityRecord,
        missing: list[Attr],
        state: str,
        user_agent: str,
        language: str,
    ) -> AttributeRequest | None:
        use_profile = self.config.use_profile_api and not self._profile_refused
        plan = plan_requests(missing, use_profile_api=use_profile)
        unavailable = tuple(a.value for a in plan.unavailable)
        if plan.profile_fields:
            kind, fields = "profile", plan.profile_fields
        elif plan.eme_fields:
            kind, fields = "eme", plan.eme_fields
        else:
            return None
        session = _session(identity)
        business_id = new_business_id()
        body: dict[str, Any] = {
            "businessID": business_id,
            "accessToken": session["at"],
            "openID": session["oid"],
            "source": source_for_user_agent(user_agent),
            "redirectURI": self.config.results_uri,
            "state": state,
        }
        if kind == "profile":
            body["profileFields"] = list(fields)
            path = PROFILE_REQUEST
        else:
            body.update(
                formName=self.config.eme_form_name,
                formNum=self.config.eme_form_num,
                formDesc=self.config.eme_form_desc,
                eMEFields=list(fields),
            )
            path = EME_REQUEST
        content = await self.client.initiate(path, body)
        ticket_id = content.get("ticketID")
        if not isinstance(ticket_id, str) or not ticket_id:
            raise UpstreamProtocolError("initiateRequest returned no ticketID")
        window_ms = self.config.callback_window_seconds * 1000
        app_url = self._app_url(kind, ticket_id, content.get("authByQR"))
        expires_ms = int(time.time() * 1000) + window_ms
        await self.bindings.put(Binding(business_id, ticket_id, state, kind, expires_ms, app_url))
        log.info(
            "iAM Smart attribute request",
            extra={"fields": {"kind": kind, "fields": ",".join(fields)}},
        )
        return AttributeRequest(
            ticket_id=ticket_id,
            kind=kind,
            attributes=tuple(
                a.value
                for a in missing
                if a in IAMSMART_FIELDS_FOR and IAMSMART_FIELDS_FOR[a].field in fields
            ),
            browser_url=self._approval_url(ticket_id, language),
            unavailable=unavailable,
            app_url=app_url,
        )

    async def app_link(self, ticket_id: str) -> str | None:
        """The "Open iAM Smart" link of a pending request (for the waiting page)."""
        binding = await self.bindings.by_ticket(ticket_id)
        return binding.app_url if binding else None

    def _app_url(self, kind: str, ticket_id: str, auth_by_qr: object) -> str | None:
        """The "Open iAM Smart" link for a same-device request: ``authByQR`` false means
        the person logged in app-to-app, and the app opens the request only through
        ``<app scheme>://profile?ticketID=…`` / ``://eme?ticketID=…`` (CorpID-SPEC
        §4.11.3; the government Java client builds exactly these; Cyberport's guides
        require the button). ``authByQR`` true: the request is pushed to the phone."""
        scheme = self.config.app_scheme
        if not scheme or auth_by_qr not in (False, "false"):
            return None
        context = "profile" if kind == "profile" else "eme"
        return f"{scheme}://{context}?ticketID={quote(ticket_id, safe='')}"

    async def complete_attribute_request(
        self, body: bytes, *, headers: Mapping[str, str] | None = None
    ) -> AttributeResult:
        """Open a result callback (``{txID, code, message, secretKey?, content}``): accepted
        only when its content opens with a CEK ``getKey`` issued to us and names a request
        we made (:mod:`connectors.iamsmart.results`); an error result without encrypted
        content only over a client-certificate-verified channel. Otherwise
        :class:`UpstreamProtocolError` and nothing changes."""
        channel = verified_channel(self.config, headers)
        if self.config.result_client_cert == "required" and not channel:
            raise UpstreamProtocolError("result callback without a verified client certificate")
        try:
            envelope = untrusted.loads(body)
        except (ValueError, RecursionError) as exc:  # RecursionError: deeply nested JSON
            raise UpstreamProtocolError("result callback is not JSON") from exc
        if not isinstance(envelope, dict):
            raise UpstreamProtocolError("result callback is not an object")
        ack = {"code": SUCCESS, "message": "SUCCESS"}
        code = str(envelope.get("code", ""))
        content = envelope.get("content")
        if code != SUCCESS and channel and not isinstance(content, str):
            # a refusal in clear, from a sender the proxy authenticated
            named = content if isinstance(content, dict) else {}
            binding = await find_binding(self.bindings, _TXID_ONLY, named, envelope.get("txID"))
            return await self._refusal(binding, code, ack)
        if not isinstance(content, str) or not content:
            # an unauthenticated body: anyone can send it, so it ends nothing (issue 16)
            raise UpstreamProtocolError("result callback has no encrypted content")
        secret_key = envelope.get("secretKey")
        secret_key = secret_key if isinstance(secret_key, str) and secret_key else None
        plain = await self.cek.open_result(secret_key, content, self.client)
        try:
            fields = untrusted.loads(plain)
        except (ValueError, RecursionError) as exc:
            raise UpstreamProtocolError("result callback content is not JSON") from exc
        if not isinstance(fields, dict):
            raise UpstreamProtocolError("result callback content is not an object")
        binding = await find_binding(self.bindings, self.config, fields, envelope.get("txID"))
        if code != SUCCESS:
            return await self._refusal(binding, code, ack)
        if not await self.bindings.consume(binding):
            raise UpstreamProtocolError("result callback for a request already answered")
        attributes = attributes_from_iamsmart(
            {k: v for k, v in fields.items() if k not in _CORRELATION}, None
        )
        log.info(
            "iAM Smart attributes received",
            extra={"fields": {"names": ",".join(sorted(attributes))}},
        )
        return AttributeResult(binding.ticket_id, attributes=attributes, acknowledgement=ack)

    async def _refusal(self, binding: Binding, code: str, ack: dict[str, str]) -> AttributeResult:
        if not await self.bindings.consume(binding):
            raise UpstreamProtocolError("result callback for a request already answered")
        error = self.client.codes.error_for(code, context="result")
        return AttributeResult(binding.ticket_id, error=error, acknowledgement=ack)

    def _approval_url(self, ticket_id: str, language: str) -> str | None:
        template = self.config.approval_url_template
        if not template:
            return None
        lang = iamsmart_language(language, self.config.default_language)
        return template.format(ticket_id=quote(ticket_id, safe=""), lang=lang)


def _session(identity: IdentityRecord) -> dict[str, Any]:
    try:
        data = json.loads(identity.connector_data)
        return {"at": str(data["at"]), "oid": str(data["oid"])}
    except (ValueError, KeyError, TypeError) as exc:
        raise UpstreamProtocolError("identity record has no iAM Smart session") from exc


def open_iamsmart(settings: Mapping[str, Any], **resources: Any) -> IAMSmartConnector:
    """Factory for ``connectors.base.open_connector`` (type ``iamsmart``)."""
    config = IAMSmartConfig(**dict(settings))
    return IAMSmartConnector(config, redis=resources.get("redis"), http=resources.get("http"))
