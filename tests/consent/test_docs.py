"""docs/consent.md tells the truth: its receipt-verification script works with OpenSSL
alone, and its role table is the one the code enforces."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from consent.operator.roles import ROLE_PERMISSIONS, Permission, Role
from consent.receipts import issue_receipt
from consent.signing import KeySetSigner
from federation.crypto.keyset import KeySet
from tests.consent.factories import grant

DOC = Path(__file__).resolve().parents[2] / "docs" / "consent.md"


def _script() -> str:
    text = DOC.read_text()
    block = text.split("<!-- verify-receipt.sh -->")[1].split("<!-- /verify-receipt.sh -->")[0]
    return block.strip().removeprefix("```sh").removesuffix("```")


def _run(tmp_path: Path, token: str, jwks: dict) -> subprocess.CompletedProcess[str]:
    (tmp_path / "verify-receipt.sh").write_text(_script())
    (tmp_path / "receipt.jws").write_text(token)
    (tmp_path / "jwks.json").write_text(json.dumps(jwks))
    return subprocess.run(
        ["sh", "verify-receipt.sh", "receipt.jws", "jwks.json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_documented_openssl_script_verifies_a_receipt(keyset: KeySet, tmp_path: Path) -> None:
    token = issue_receipt(grant().record, KeySetSigner(keyset), issuer="https://b.example.hk")
    result = _run(tmp_path, token, keyset.public_jwks())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Verified OK"


def test_documented_openssl_script_rejects_a_forgery(keyset: KeySet, tmp_path: Path) -> None:
    token = issue_receipt(grant().record, KeySetSigner(keyset), issuer="https://b.example.hk")
    header, payload, sig = token.split(".")
    forged = f"{header}.{payload[:-6]}AAAAAA.{sig}"
    result = _run(tmp_path, forged, keyset.public_jwks())
    assert result.returncode != 0
    assert "Verification failure" in result.stdout + result.stderr


def test_documented_role_table_matches_the_code() -> None:
    text = DOC.read_text()
    rows = re.findall(r"^\| (.+?) \| (.*?) \| (.*?) \| (.*?) \| (.*?) \|$", text, re.M)
    by_path = {
        "GET /operator/api/consents`": Permission.SEARCH,
        "GET …/consents/{id}`": Permission.VIEW,
        "POST …/consents/{id}/revoke`": Permission.REVOKE,
        "GET /operator/api/export`": Permission.EXPORT,
        "GET /operator/api/audit/status`": Permission.AUDIT_STATUS,
        "GET /operator/api/audit/events`": Permission.AUDIT_READ,
        "POST /operator/api/offboarding`": Permission.OFFBOARD,
        "GET /operator/api/dashboard`": Permission.DASHBOARD,
        "console `/operator/accounts`": Permission.ACCOUNTS,
    }
    seen = set()
    for label, *marks in rows:
        for fragment, permission in by_path.items():
            if fragment in label:
                documented = {role for role, mark in zip(Role, marks, strict=True) if "✓" in mark}
                enforced = {role for role in Role if permission in ROLE_PERMISSIONS[role]}
                assert documented == enforced, permission
                seen.add(permission)
    assert seen == set(Permission)
