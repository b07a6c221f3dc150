"""Result delivery: the encrypted profile/e-ME callback POSTed to the relying party
(domain-facts §1.5, CorpID-SPEC §2.3.1; shape as the public Node client reads it):
``{"txID": "<T=random>", "code", "message", "secretKey", "content"}`` (``txID`` names the
message, not the request, as the real gateway's would) where ``content``
is the CEK-encrypted JSON of ``businessID``, ``state`` and the approved fields, and
``secretKey`` the CEK wrapped to the client's KEK. The CEK is always the one ``getKey``
issued (a relying party must refuse any other: the wrapped key authenticates nobody).
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Iterable
from typing import Any

from connectors.iamsmart import crypto
from connectors.iamsmart.errors import SUCCESS
from connectors.iamsmart.simulator.config import Persona, RegisteredClient, SimulatorSettings
from connectors.iamsmart.simulator.state import SimulatorState, Ticket
from federation.outbound import HttpClient, HttpFailure, Poster

log = logging.getLogger("idbridge.iamsmart_sim")

DENIED = {"profile": "D50001", "eme": "D60001"}
_JSON = {"Content-Type": "application/json", "Accept": "application/json"}


def approved_fields(persona: Persona, ticket: Ticket, chosen: Iterable[str]) -> dict[str, Any]:
    """The values the person let through (absent ones are left out; ``chName`` brings
    ``chNameVerified``)."""
    result: dict[str, Any] = {}
    for name in ticket.fields:
        if name not in chosen:
            continue
        value = persona.field(name)
        if value is None:
            continue
        result[name] = value
        if name == "chName" and persona.field("chNameVerified") is not None:
            result["chNameVerified"] = persona.field("chNameVerified")
    return result


def wrap_secret_key(settings: SimulatorSettings, client: RegisteredClient, key: bytes) -> str:
    """``secretKey`` for ``client``; in conformance mode as Java's ``BigInteger
    .toByteArray()`` writes a ciphertext with its top bit set: one leading zero byte (257
    bytes for a 2048-bit key; a public client strips it)."""
    assert client.public_key is not None
    wrapped = crypto.wrap_cek(client.public_key, key, client.rsa_padding)
    raw = base64.b64decode(wrapped)
    if settings.conformance and raw[0] >= 0x80:
        return base64.b64encode(b"\0" + raw).decode()
    return wrapped


def result_body(
    state: SimulatorState, client: RegisteredClient, ticket: Ticket, fields: dict[str, Any] | None
) -> dict[str, Any]:
    """The callback body: encrypted fields, or the refusal code when ``fields`` is None.

    Either way ``content`` is encrypted with the client's *current* CEK — the one its
    ``getKey`` returns, never another — and names the request: ``businessID`` and
    ``state`` as the relying party sent them (CorpID-SPEC §4.7.1; a refusal's content
    "only contains required parameters, e.g. businessID", SIM-SPEC §2.4.2)."""
    cek = state.current_cek(client)
    assert client.public_key is not None
    named: dict[str, Any] = {"businessID": ticket.business_id}
    if ticket.state is not None:
        named["state"] = ticket.state
    if fields is None:
        code, message, payload = DENIED[ticket.kind], "user rejected the request", named
    else:
        code, message, payload = SUCCESS, "SUCCESS", {**named, **fields}
    return {
        "txID": f"<T={uuid.uuid4()}>",  # identifies this message only (SIM-SPEC §2.4.2)
        "code": code,
        "message": message,
        "secretKey": wrap_secret_key(state.settings, client, cek.key),
        "content": crypto.encrypt(cek.key, json.dumps(payload, ensure_ascii=False).encode()),
    }


def delivery_client(timeout: float) -> Poster:
    """The simulator's one HTTP client for result POSTs: a keep-alive pool made once per
    app (:class:`federation.outbound.HttpClient`; one per POST would build an SSL context
    each time, ~20 ms of CPU). Plain
    http is allowed beyond loopback: the simulator posts only to the redirect URIs its
    clients file registers (a sandbox, e.g. ``http://bridge:8000/...`` between containers)."""
    return HttpClient(
        connect_timeout=timeout,
        read_timeout=timeout,
        user_agent="iamsmart-sim",
        allow_http=True,
    )


async def deliver(http: Poster, url: str, body: dict[str, Any]) -> bool:
    """POST the result to the RP with the shared client; True when it answered 2xx."""
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    try:
        response = await http.post(url, raw, _JSON)
    except (HttpFailure, ValueError) as exc:
        log.warning("result delivery failed", extra={"fields": {"error": type(exc).__name__}})
        return False
    ok = 200 <= response.status_code < 300
    if not ok:
        log.warning("result delivery refused", extra={"fields": {"status": response.status_code}})
    return ok
