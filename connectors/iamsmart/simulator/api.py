"""The simulator's signed JSON API (domain-facts §1.3-§1.6), strictly checked.

Every POST passes :func:`verify_request` (headers, client, signature method, HMAC,
timestamp order and skew, nonce reuse) before anything else; every refusal is an envelope
``{"txID", "code", "message"}`` with a D-code (``connectors.iamsmart.errors``) and HTTP 200,
like the service's business errors. Nothing a client sends can produce a 5xx.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from connectors.iamsmart import crypto
from connectors.iamsmart.attributes import EME_FIELDS, PROFILE_FIELDS
from connectors.iamsmart.errors import D_CODES, SUCCESS
from connectors.iamsmart.signing import SIGNATURE_METHOD, signature_matches
from connectors.iamsmart.simulator.config import RegisteredClient
from connectors.iamsmart.simulator.delivery import wrap_secret_key
from connectors.iamsmart.simulator.state import Cek, SimulatorState, Ticket, now_ms
from connectors.iamsmart.sources import ALL_SOURCES

MAX_BODY = 1_000_000
SIM_EME_FIELDS = (*EME_FIELDS, "passportNumber", "passportExpiry", "propertyOwner", "carOwner")
"""e-ME fields accepted: the connector's, and four more a public C# callback DTO carries
(no persona holds them: they come back absent)."""
_STATE = re.compile(r"[A-Za-z0-9_-]{1,36}")  # fullmatch: "$" lets "\n" through
_NONCE = re.compile(r"[\x21-\x7e]{1,36}")


class SimError(Exception):
    """A refusal with its D-code."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail or D_CODES[code].meaning if code in D_CODES else detail


def envelope(code: str, content: Any = None, message: str | None = None) -> JSONResponse:
    """The service's response envelope."""
    body: dict[str, Any] = {
        "txID": f"<T={uuid.uuid4()}>",
        "code": code,
        "message": message or ("SUCCESS" if code == SUCCESS else D_CODES[code].meaning),
    }
    if content is not None:
        body["content"] = content
    return JSONResponse(body)


async def verify_request(request: Request) -> tuple[RegisteredClient, str]:
    """The calling client and the body text, or :class:`SimError`."""
    sim = request.app.state.sim
    headers = {
        name: request.headers.get(name)
        for name in ("clientID", "signatureMethod", "timestamp", "nonce", "signature")
    }
    if any(value is None or value == "" for value in headers.values()):
        raise SimError("D20002", "missing signing header")
    client_id, method, timestamp, nonce, given = (str(v) for v in headers.values())
    if (
        not (timestamp.isascii() and timestamp.isdigit())
        or len(timestamp) > 15
        or not _NONCE.fullmatch(nonce)
    ):
        raise SimError("D20003", "malformed timestamp or nonce")
    raw = await _read_body(request)
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SimError("D20003", "body is not UTF-8") from exc
    client = sim.clients.get(client_id)
    if client is None:
        raise SimError("D20003", "unknown clientID")
    if method != SIGNATURE_METHOD:
        raise SimError("D20005")
    secret = client.client_secret.get_secret_value()
    if not signature_matches(client_id, secret, timestamp, nonce, body, given):
        raise SimError("D20006")
    state: SimulatorState = sim.state
    if not state.accept_timestamp(client_id, int(timestamp)):
        raise SimError("D20004")
    if not state.accept_nonce(client_id, nonce):
        raise SimError("D20004", "nonce already used")
    return client, body


async def _read_body(request: Request) -> bytes:
    """The body, refused with D20003 as soon as it passes :data:`MAX_BODY` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise SimError("D20003", "body too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else None
    except (ValueError, RecursionError) as exc:  # RecursionError: deeply nested JSON
        raise SimError("D20003", "body is not JSON") from exc
    if not isinstance(value, dict):
        raise SimError("D20003", "body is not a JSON object")
    return value


def _open(
    state: SimulatorState, client: RegisteredClient, body: dict[str, Any]
) -> tuple[dict[str, Any], Cek]:
    """Decrypt ``{"content": ...}``: current CEK, else D30002 (old CEK) or D30004."""
    frame = body.get("content")
    if not isinstance(frame, str):
        raise SimError("D20003", "content must be an encrypted string")
    current = state.ceks.get(client.client_id)
    if current is not None and current.expires_ms > now_ms():
        try:
            return _json_object(crypto.decrypt(current.key, frame).decode("utf-8")), current
        except (crypto.CryptoError, UnicodeDecodeError):
            pass
    for old in [*state.retired(client.client_id), *([current] if current else [])]:
        try:
            crypto.decrypt(old.key, frame)
        except crypto.CryptoError:
            continue
        raise SimError("D30002")
    raise SimError("D30004")


def _compact(content: dict[str, Any]) -> bytes:
    return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


router = APIRouter()


@router.post("/api/v1/auth/getToken")
async def get_token(request: Request) -> JSONResponse:
    sim = request.app.state.sim
    try:
        client, text = await verify_request(request)
        body = _json_object(text)
        cek = None
        if "content" in body:
            body, cek = _open(sim.state, client, body)
        elif sim.settings.conformance:  # every POST but getKey is encrypted (Cyberport)
            raise SimError("D20003", "the body must be CEK-encrypted")
        if body.get("grantType") != "authorization_code":
            raise SimError("D20003", "grantType must be authorization_code")
        code = body.get("code")
        grant = sim.state.redeem_code(code, client.client_id) if isinstance(code, str) else None
        if grant is None:
            raise SimError("D40004")
        token, issued = sim.state.issue_token(grant)
        persona = sim.personas[grant.persona_id]
        content = {
            "accessToken": token,
            "tokenType": "Bearer",
            "issueAt": now_ms(),
            "expiresIn": sim.settings.access_token_lifetime_ms,
            "openID": sim.state.open_id(persona.id, client.client_id),
            "lastModifiedDate": persona.last_modified_ms,
            "userType": persona.user_type,
            "scope": " ".join(issued.scopes),
        }
        if cek is not None:
            return envelope(SUCCESS, crypto.encrypt(cek.key, _compact(content)))
        return envelope(SUCCESS, content)
    except SimError as exc:
        return envelope(exc.code)


@router.post("/api/v1/security/getKey")
async def get_key(request: Request) -> JSONResponse:
    sim = request.app.state.sim
    try:
        client, _ = await verify_request(request)
        if client.public_key is None:
            raise SimError("D30001")
        cek = sim.state.current_cek(client)
        content = {
            "secretKey": wrap_secret_key(sim.settings, client, cek.key),
            "pubKey": client.public_key_b64,
            "issueAt": cek.issue_at_ms,
            "expiresIn": cek.expires_ms - cek.issue_at_ms,
        }
        return envelope(SUCCESS, content)
    except SimError as exc:
        return envelope(exc.code)


@router.post("/api/v1/account/auth/profile/initiateRequest")
async def profile_request(request: Request) -> JSONResponse:
    return await _initiate(request, "profile")


@router.post("/api/v1/account/auth/eme/initiateRequest")
async def eme_request(request: Request) -> JSONResponse:
    return await _initiate(request, "eme")


async def _initiate(request: Request, kind: str) -> JSONResponse:
    sim = request.app.state.sim
    try:
        client, text = await verify_request(request)
        body, cek = _open(sim.state, client, _json_object(text))
        ticket = _ticket(sim, client, body, kind)
        by_qr = sim.state.token_grant(body["accessToken"], client.client_id).by_qr
        content = {"authByQR": by_qr, "ticketID": ticket.id}
        return envelope(SUCCESS, crypto.encrypt(cek.key, _compact(content)))
    except SimError as exc:
        return envelope(exc.code)


def _ticket(sim: Any, client: RegisteredClient, body: dict[str, Any], kind: str) -> Ticket:
    """Validate an initiateRequest body and open its ticket."""
    token = body.get("accessToken")
    grant = sim.state.token_grant(token, client.client_id) if isinstance(token, str) else None
    if grant is None:
        raise SimError("D20009")
    if body.get("openID") != sim.state.open_id(grant.persona_id, client.client_id):
        raise SimError("D20010", "openID does not belong to the accessToken")
    if kind == "profile" and not client.profile_api:
        raise SimError("D20012", "the profile API is not open to this online service")
    scope = "eidapi_profiles" if kind == "profile" else "eidapi_formFilling"
    if scope not in grant.scopes:
        raise SimError("D20015", f"the login did not grant {scope}")
    redirect_uri = body.get("redirectURI")
    if not isinstance(redirect_uri, str) or redirect_uri not in client.redirect_uris:
        raise SimError("D20008")
    source = body.get("source")
    if not isinstance(source, str) or source not in ALL_SOURCES:
        raise SimError("D20007")
    state = body.get("state")
    if state is not None and (not isinstance(state, str) or not _STATE.fullmatch(state)):
        raise SimError("D20003", "bad state")
    key, allowed = (
        ("profileFields", PROFILE_FIELDS) if kind == "profile" else ("eMEFields", SIM_EME_FIELDS)
    )
    fields = body.get(key)
    if (
        not isinstance(fields, list)
        or not fields
        or not all(isinstance(f, str) and f in allowed for f in fields)
    ):
        raise SimError("D20003", f"{key} must list known fields")
    business_id = body.get("businessID")
    if (
        not isinstance(business_id, str)
        or not 0 < len(business_id) <= 36
        or not business_id.isascii()
    ):
        raise SimError("D20003", "businessID: ASCII, 1-36 characters")
    if not sim.state.new_business_id(client.client_id, business_id):
        raise SimError("D20011")
    return sim.state.open_ticket(
        Ticket(
            id=str(uuid.uuid4()),
            kind=kind,
            client_id=client.client_id,
            persona_id=grant.persona_id,
            fields=tuple(dict.fromkeys(fields)),
            redirect_uri=redirect_uri,
            state=state,
            business_id=business_id,
            form_name=str(body.get("formName") or "")[:200],
        )
    )
