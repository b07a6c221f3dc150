"""Evidence for the person: where a consent's event sits in the transparency log, and an
inclusion proof (RFC 9162 §2.1.3) under the latest signed tree head (issue 15).

A receipt carries :func:`evidence` as its ``auditLog`` member (``shard``, ``leafIndex``,
``leafHash``, ``ref`` and, once a head covers the leaf, that head's JWS ``sth``);
:func:`inclusion` adds the audit path, so a resident, an auditor or a court can check
offline (``docs/verify_consent_log.py``) that the event is in the tree the bridge
signed. Imports ``consent.audit``, ``consent.merkle``, ``consent.translog``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from consent.audit import AuditChain
from consent.merkle import inclusion_proof
from federation.storage.keys import Keys


def head_payload(jws: str) -> dict[str, Any]:
    """The (unverified) payload of a tree head's compact JWS."""
    body = jws.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))


async def evidence(chain: AuditChain, consent_id: str) -> dict[str, Any] | None:
    """The log position of the event that granted ``consent_id`` (``None`` without a
    log, or when the event predates it)."""
    log = chain.log
    if log is None:
        return None
    refs = await log.redis.lrange(Keys.consent_events(consent_id), 0, 0)
    entry = await log.entry(refs[0]) if refs else None
    if entry is None or "shard" not in entry:
        return None
    out: dict[str, Any] = {
        "ref": entry["ref"],
        "shard": entry["shard"],
        "leafIndex": entry["index"],
        "leafHash": entry["hash"],
        "sth": None,
    }
    jws = await log.redis.hget(Keys.AUDIT_STH, "jws")
    if jws:
        size = int(head_payload(jws)["shards"][entry["shard"]]["size"])
        if entry["index"] < size:
            out.update(sth=jws, treeSize=size)
    return out


async def inclusion(chain: AuditChain, ref: str) -> dict[str, Any] | None:
    """An inclusion proof of log entry ``ref`` under the latest tree head covering it:
    the entry's hashed fields, its leaf hash, the audit path and the head."""
    log = chain.log
    if log is None:
        return None
    entry = await log.entry(ref)
    jws = await log.redis.hget(Keys.AUDIT_STH, "jws")
    if entry is None or "shard" not in entry or not jws:
        return None
    shard, index = entry["shard"], entry["index"]
    size = int(head_payload(jws)["shards"][shard]["size"])
    if index >= size:
        return None
    leaves = await log.leaves(shard, size)
    return {
        "shard": shard,
        "leafIndex": index,
        "treeSize": size,
        "leafHash": entry["hash"],
        "entry": {k: v for k, v in entry.items() if k not in ("id", "hash", "index", "ref")},
        "inclusionPath": [p.hex() for p in inclusion_proof(leaves, index, size)],
        "sth": jws,
    }
