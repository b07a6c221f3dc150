"""Evidence export: consent records as CSV (spreadsheet-safe), JSON or JSON lines."""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any

from consent.records import ConsentRecord

CSV_COLUMNS: tuple[str, ...] = (
    "id", "subject", "client_id", "status", "given_at", "expires_at", "revoked_at",
    "revoked_by", "revoke_reason", "notice_version", "notice_digest", "language",
    "collection_method", "cross_boundary", "attributes", "consent_key",
)  # fmt: skip

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _iso(epoch: int | None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch)) if epoch is not None else ""


def _cell(value: str) -> str:
    """Neutralise spreadsheet formulas (CSV injection)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def row(record: ConsentRecord) -> dict[str, str]:
    """One flat row (times in UTC ISO 8601)."""
    return {
        "id": record.id,
        "subject": record.subject,
        "client_id": record.client_id,
        "status": record.status.value,
        "given_at": _iso(record.given_at),
        "expires_at": _iso(record.expires_at),
        "revoked_at": _iso(record.revoked_at),
        "revoked_by": record.revoked_by or "",
        "revoke_reason": record.revoke_reason or "",
        "notice_version": record.notice_version,
        "notice_digest": record.notice_digest,
        "language": record.language,
        "collection_method": record.collection_method,
        "cross_boundary": "yes" if record.cross_boundary else "no",
        "attributes": " ".join(record.attribute_names),
        "consent_key": record.consent_key,
    }


def to_csv(records: list[ConsentRecord]) -> str:
    """CSV with a header row."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: _cell(v) for k, v in row(record).items()})
    return out.getvalue()


def to_json(records: list[ConsentRecord], meta: dict[str, Any]) -> str:
    """``{"meta": …, "records": [full records]}``."""
    body = {"meta": meta, "records": [r.model_dump(mode="json", by_alias=True) for r in records]}
    return json.dumps(body, ensure_ascii=False, indent=1)


def to_jsonl(records: list[ConsentRecord], meta: dict[str, Any]) -> str:
    """JSON lines: the first line ``{"meta": …}`` (count, ``truncated``), then one record
    per line."""
    lines = [json.dumps({"meta": meta}, ensure_ascii=False)]
    lines += [
        json.dumps(r.model_dump(mode="json", by_alias=True), ensure_ascii=False) for r in records
    ]
    return "\n".join(lines) + "\n"
