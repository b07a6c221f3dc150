"""federation.untrusted: the one reader of JSON a caller sent, and the scan that keeps it
the only one (no ``json.loads`` on request data anywhere else in the product packages)."""

from __future__ import annotations

import ast
import base64
import json
from pathlib import Path

import pytest

from federation.untrusted import (
    MAX_DEPTH,
    UntrustedJSON,
    loads,
    loads_b64url,
    read_compact_jws,
)

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("federation", "connectors", "consent", "mappings")

ALLOWED: dict[tuple[str, str], str] = {
    ("federation/untrusted.py", "loads"): "the helper itself",
    ("federation/untrusted.py", "_surrogate_path"): "the helper's error path",
    ("federation/crypto/jose.py", "decode_jwt"): (
        "layer 0 imports nothing of ours; federation.oidc.signing reads every token with "
        "read_compact_jws before calling it"
    ),
    ("federation/cli/audit.py", "_verifier"): "an operator's local file",
    ("federation/cli/jwt.py", "_claims"): "an operator's command line",
    ("federation/cli/jwt.py", "_load_jwks"): "an operator's local file",
    ("federation/cli/mappings.py", "read_input"): "an operator's local file",
    ("federation/journey/record.py", "Sealer.open"): "our own sealed journey record",
    ("federation/journey/record.py", "JourneyStore._decode"): "our own record in Redis",
    ("federation/oidc/clients.py", "ClientRegistry.get"): "a client we stored",
    ("federation/oidc/client_names.py", "_index_existing"): "clients we stored",
    ("federation/oidc/models.py", "_client"): "canonical JSON we wrote",
    ("federation/oidc/par.py", "take"): "a PAR record we stored",
    ("federation/oidc/sealing.py", "unseal"): "SM4-GCM sealed by us (authenticated)",
    ("connectors/iamsmart/cek.py", "CekCache._load_shared"): "our CEK cache in Redis",
    ("connectors/iamsmart/connector.py", "_session"): "connector data we stored",
    ("connectors/iamsmart/results.py", "BindingStore.by_business_id"): "a binding we stored",
    ("connectors/iamsmart/simulator/api.py", "_json_object"): (
        "the simulator of the external system, not the bridge"
    ),
    ("consent/audit.py", "parse_entry"): "our audit stream",
    ("consent/records.py", "ConsentRecord.from_hash"): "our consent record",
    ("consent/redis_store.py", "RedisConsentStore.get_sealed_values"): "sealed by us",
    ("consent/signing.py", "JwksVerifier.__init__"): "configuration",
    ("consent/log_evidence.py", "head_payload"): "a tree head we signed",
    ("consent/migrate_log.py", "migrated_up_to"): "our migration marker in Redis",
    ("consent/tree_heads.py", "_payload"): "a tree head we signed",
    ("consent/tree_heads.py", "last_sth_in_file"): "our own heads file",
    ("consent/tree_heads.py", "read_lines"): "our own heads file",
    ("consent/witness.py", "Witness.last"): "the witness's own state file",
    ("federation/cli/audit_log.py", "_last_head"): "an operator's local file",
    ("federation/cli/audit_log.py", "_ref_of"): "an operator's local receipt file",
    ("federation/cli/audit_log.py", "witness"): "an operator's local file",
    ("federation/oidc/jwks_cache.py", "client_key_set"): "a key set we cached after checking it",
    ("federation/cli/clients.py", "_dynamic"): "clients we stored (operator's CLI)",
    ("federation/cli/clients.py", "show.go"): "a client we stored (operator's CLI)",
    ("federation/journey/budget.py", "load_client"): "a client blob we stored, digest-checked",
    ("federation/journey/finish.py", "finished_page"): "our finished-journey marker",
    ("federation/journey/record.py", "JourneyStore.load"): "our own record in Redis",
}
"""Every ``json.load(s)``/``orjson.loads`` in the product packages, by file and enclosing
function, with why it does not read caller-sent data."""


class _Reads(ast.NodeVisitor):
    """Collects ``(file, enclosing function)`` of every JSON decode call in one module."""

    def __init__(self, rel: str) -> None:
        self.rel = rel
        self.stack: list[str] = []
        self.found: set[tuple[str, str]] = set()

    def _scope(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scope

    def visit_Call(self, node: ast.Call) -> None:
        fn = node.func
        if isinstance(fn, ast.Attribute) and isinstance(fn.value, ast.Name):
            where = ".".join(self.stack)
            if fn.attr in ("loads", "load", "JSONDecoder") and fn.value.id in (
                "json",
                "orjson",
                "simplejson",
                "ujson",
            ):
                self.found.add((self.rel, where))
            if fn.attr == "json" and fn.value.id == "request":
                self.found.add((self.rel, where + " (request.json)"))
        self.generic_visit(node)


def _json_reads() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            visitor = _Reads(path.relative_to(ROOT).as_posix())
            visitor.visit(ast.parse(path.read_text(encoding="utf-8")))
            found |= visitor.found
    return found


def test_no_json_loads_on_request_data_outside_the_helper() -> None:
    unexpected = sorted(_json_reads() - set(ALLOWED))
    assert not unexpected, (
        "json decoded outside federation.untrusted (use untrusted.loads, or add the call to "
        f"ALLOWED with why it never sees caller-sent data): {unexpected}"
    )


def test_the_allow_list_has_no_stale_entries() -> None:
    stale = sorted(set(ALLOWED) - _json_reads())
    assert not stale, f"ALLOWED names calls that are gone: {stale}"


def test_the_scan_sees_a_new_call() -> None:
    """The visitor finds calls in nested functions and methods (so the scan can fail)."""
    visitor = _Reads("x.py")
    source = "class A:\n    async def f(self, request):\n        def g():\n"
    source += "            return json.loads(b'1')\n        return await request.json()\n"
    visitor.visit(ast.parse(source))
    assert visitor.found == {("x.py", "A.f.g"), ("x.py", "A.f (request.json)")}


def test_plain_json_is_read() -> None:
    assert loads(b'{"a": [1, "x", null, true]}') == {"a": [1, "x", None, True]}
    assert loads('{"名": "値"}') == {"名": "値"}
    assert loads('"a\\u0000b"') == "a\x00b"  # NUL is a scalar value; params refuse it


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (b'{"a": 1, "a": 2}', "duplicate member name"),
        (b'{"x": {"k": 1, "k": 1}}', "duplicate member name"),
        (b"[" * 1500 + b"]" * 1500, "deeper"),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), "deeper"),
        (b'{"a":' * 5000 + b"1" + b"}" * 5000, "deeper"),
        (b'"\\ud800"', "lone surrogate"),
        (b'"\xed\xa0\x80"', "lone surrogate"),
        (b'"\xff"', "UTF-8"),
        (b"NaN", "not valid JSON"),
        (b"[1] x", "not valid JSON"),
        (b"", "not valid JSON"),
    ],
)
def test_refused(text: bytes, reason: str) -> None:
    with pytest.raises(UntrustedJSON, match=reason):
        loads(text)


def test_depth_at_the_bound_is_accepted() -> None:
    assert loads(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None


def test_lone_surrogate_names_the_member() -> None:
    with pytest.raises(UntrustedJSON) as info:
        loads(b'{"contacts": ["ok", "\\ud800"]}')
    assert info.value.field == "contacts[1]"
    with pytest.raises(UntrustedJSON) as info:
        loads('{"logo_uri": "\ud800"}')
    assert info.value.field == "logo_uri"


def test_odd_member_names_are_not_echoed() -> None:
    with pytest.raises(UntrustedJSON) as info:
        loads(b'{"<script>": 1, "<script>": 2}')
    assert "<script>" not in str(info.value)


def test_size_bound() -> None:
    with pytest.raises(UntrustedJSON, match="over 10 bytes"):
        loads(b'"' + b"a" * 20 + b'"', max_bytes=10)


def test_is_a_value_error() -> None:
    """Call sites that caught ValueError keep working."""
    assert issubclass(UntrustedJSON, ValueError)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_jws_segments() -> None:
    alg = _b64(b'{"alg":"ES256"}')
    header, payload = read_compact_jws(f"{alg}.{_b64(b'{}')}.sig")
    assert header == {"alg": "ES256"} and payload == {}
    assert loads_b64url(_b64(json.dumps({"iss": "c"}).encode())) == {"iss": "c"}
    with pytest.raises(UntrustedJSON, match="deeper"):
        read_compact_jws(f"e30.{_b64(b'[' * 1500 + b']' * 1500)}.x")
    with pytest.raises(UntrustedJSON):
        read_compact_jws("e30.e30")
    with pytest.raises(UntrustedJSON):
        loads_b64url("***")
