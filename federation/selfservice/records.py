"""What the person sees and downloads, built from their consent records: summaries grouped
per relying party, receipts (the SM2SM3 JWS and readable JSON) and the export of all their
records with each record's event history. Plain functions; no HTTP.
"""

from __future__ import annotations

import json
import time
import weakref
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import redis.asyncio as aioredis

from consent.receipts import build_receipt, sign_receipt, verify_receipt
from consent.records import ConsentRecord, Status
from consent.services import ConsentServices
from federation.journey.context import ProfileCache
from federation.oidc.provider import OidcProvider
from federation.pages import ConsentSummary, Localised, RelyingPartyConsents, SharedAttribute
from mappings.errors import ProfileError
from mappings.profile import Profile

Labels = Mapping[str, Localised]
"""Claim name → its trilingual label."""

_PROFILE_LABELS: weakref.WeakKeyDictionary[Profile, Labels] = weakref.WeakKeyDictionary()

HONG_KONG = timezone(timedelta(hours=8), "HKT")
EXPORT_PAGE = 200
EXPORT_MAX = 10_000


def hk_time(epoch: int | None) -> str | None:
    """``2024-06-01 14:03`` in Hong Kong time (the page adds the zone)."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, HONG_KONG).strftime("%Y-%m-%d %H:%M")


def end_reason(record: ConsentRecord) -> tuple[str | None, str | None]:
    """Why a consent ended, as the page names it (``selfservice.end_reason.<key>``), and the
    detail: the consent that replaced it, or the operator's reason."""
    if record.status is Status.ACTIVE:
        return None, None
    reason = record.revoke_reason or ""
    if reason.startswith("superseded by "):
        return "replaced", reason.removeprefix("superseded by ")
    if record.status is Status.EXPIRED:
        return "expired", None
    by = record.revoked_by or "system"
    if by == "subject":
        return "withdrawn_by_you", None
    if by.startswith("operator:"):
        return "withdrawn_by_operator", reason or None
    return "ended_by_system", None


def ended_by(record: ConsentRecord) -> str | None:
    """Who ended a consent, as the page names it."""
    if record.status is Status.ACTIVE:
        return None
    if record.status is Status.EXPIRED:
        return "expiry"
    by = record.revoked_by or "system"
    return (
        "operator"
        if by.startswith("operator:")
        else by
        if by in ("subject", "system")
        else "system"
    )


def profile_labels(profile: Profile) -> Labels:
    """Every claim's label in ``profile`` (built once per loaded profile)."""
    labels = _PROFILE_LABELS.get(profile)
    if labels is None:
        labels = {
            name: dict(claim.labels) for name, claim in profile.claims.items() if claim.labels
        }
        _PROFILE_LABELS[profile] = labels
    return labels


async def labels_by_client(
    provider: OidcProvider,
    redis: aioredis.Redis,
    profiles: ProfileCache,
    client_ids: Iterable[str],
) -> dict[str, Labels]:
    """The claim labels of each client's mapping profile. A client that no longer exists,
    or whose profile does not load, gets none (its claims show by name)."""
    found: dict[str, Labels] = {}
    for client_id in set(client_ids):
        client = await provider.clients.get(redis, client_id)
        if client is None:
            continue
        try:
            found[client_id] = profile_labels(profiles.for_client(client))
        except ProfileError:
            continue
    return found


def summary(record: ConsentRecord, base: str, labels: Labels | None = None) -> ConsentSummary:
    """One record for the list (``base``: the area's path, ``/consents``; ``labels``: the
    RP profile's claim labels)."""
    labels = labels or {}
    active = record.status is Status.ACTIVE
    reason, detail = end_reason(record)
    return ConsentSummary(
        consent_id=record.id,
        status=record.status.value,
        given_at=hk_time(record.given_at) or "",
        expires_at=hk_time(record.expires_at),
        ended_at=hk_time(record.revoked_at) if not active else None,
        ended_by=ended_by(record),
        purposes=tuple(p.description.as_dict() for p in record.purposes),
        attributes=tuple(
            SharedAttribute(a.name, a.essential, a.supplied_by_person, labels.get(a.name))
            for a in record.attributes
        ),
        withheld=tuple(record.withheld),
        withheld_labels={name: labels[name] for name in record.withheld if name in labels},
        cross_boundary=record.cross_boundary,
        receipt_jws_url=f"{base}/{record.id}/receipt.jws",
        receipt_json_url=f"{base}/{record.id}/receipt.json",
        proof_url=f"{base}/{record.id}/proof.json",
        withdraw_url=f"{base}/{record.id}/withdraw" if active else None,
        end_reason=reason,
        end_detail=detail,
        receipt_html_url=f"{base}/{record.id}/receipt.html",
        sensitive=tuple(record.sensitive),
        retention=record.retention.as_dict(),
        rights=record.rights.as_dict(),
    )


def group_by_relying_party(
    records: list[ConsentRecord], base: str, labels: Mapping[str, Labels] | None = None
) -> tuple[RelyingPartyConsents, ...]:
    """Records (newest first) grouped per client, groups in order of their newest record
    (``labels``: claim labels by client id)."""
    labels = labels or {}
    groups: dict[str, list[ConsentRecord]] = {}
    for record in records:
        groups.setdefault(record.client_id, []).append(record)
    return tuple(
        RelyingPartyConsents(
            client_id=client_id,
            name=items[0].client_name.as_dict(),
            contact=items[0].client_contact,
            consents=tuple(summary(r, base, labels.get(client_id)) for r in items),
        )
        for client_id, items in groups.items()
    )


def verified_receipt(record: ConsentRecord, services: ConsentServices) -> tuple[dict, bool]:
    """The receipt and whether its JWS verified against the bridge's published keys (what
    the readable receipt page states)."""
    body = receipt_body(record, services)
    if "jws" not in body or services.verifier is None:
        return body["receipt"], False
    try:
        return verify_receipt(body["jws"], services.verifier), True
    except Exception:
        return body["receipt"], False


def receipt_body(
    record: ConsentRecord, services: ConsentServices, audit_log: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The Kantara-shaped receipt and, when the bridge signs, its compact JWS
    (``audit_log``: the event's place in the transparency log, ``consent.log_evidence``)."""
    receipt = build_receipt(record, issuer=services.issuer, audit_log=audit_log)
    body: dict[str, Any] = {"receipt": receipt}
    if services.signer is not None:
        body["jws"] = sign_receipt(receipt, services.signer)
    return body


async def all_records(services: ConsentServices, subject: str) -> list[ConsentRecord]:
    """Every record of ``subject`` (newest first), at most :data:`EXPORT_MAX`."""
    records: list[ConsentRecord] = []
    cursor: str | None = None
    while len(records) < EXPORT_MAX:
        page = await services.store.list_by_subject(subject, cursor, EXPORT_PAGE)
        records.extend(r for r in page.items if r.subject == subject)
        cursor = page.next_cursor
        if cursor is None:
            break
    return records


async def export_document(services: ConsentServices, subject: str) -> dict[str, Any]:
    """All of the person's records, each with its event history (ids only, no other
    person's data: events are read per record, and records per subject)."""
    records = await all_records(services, subject)
    return {
        "exported_at": datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="seconds"),
        "issuer": services.issuer,
        "subject": subject,
        "records": [
            {
                "record": record.model_dump(mode="json", by_alias=True),
                "events": await services.store.events(record.id),
            }
            for record in records
        ],
    }


def pretty_json(document: Any) -> bytes:
    """Readable JSON (indented, UTF-8, CJK as text)."""
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
