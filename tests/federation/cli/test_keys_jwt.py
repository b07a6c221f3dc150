"""``idbridge keys`` and ``idbridge jwt``: files, exit codes, one-line reasons, and a JWS
from ``jwt sign`` verified independently by the openssl CLI over the signing input."""

from __future__ import annotations

import base64
import http.server
import json
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from federation.cli import main
from federation.crypto.encoding import raw_to_der
from tests.federation.crypto.openssl_cli import openssl_verify, run


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def b64d(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for alg in ("SM2SM3", "ES256", "RS256"):
        path = tmp_path / f"{alg}.pem"
        code, text = invoke("keys", "generate", "--alg", alg, "--out", str(path))
        assert code == 0, text
        out[alg] = path
    return out


def test_generate_writes_private_pkcs8_0600_that_openssl_reads(keys: dict[str, Path]) -> None:
    for alg, path in keys.items():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
        proc = run("pkey", "-in", str(path), "-noout", "-text")
        assert proc.returncode == 0, (alg, proc.stderr)
    code, text = invoke("keys", "generate", "--alg", "SM2SM3", "--out", str(keys["SM2SM3"]))
    assert code != 0 and "exists" in text
    code, text = invoke("keys", "generate", "--alg", "HS256", "--out", "x.pem")
    assert code != 0


def test_jwks_prints_public_keys_only(keys: dict[str, Path]) -> None:
    code, text = invoke("keys", "jwks", *map(str, keys.values()))
    assert code == 0, text
    jwks = json.loads(text)
    assert sorted(k["alg"] for k in jwks["keys"]) == ["ES256", "RS256", "SM2SM3"]
    assert all("d" not in k for k in jwks["keys"])
    sm2 = next(k for k in jwks["keys"] if k["alg"] == "SM2SM3")
    assert sm2["kty"] == "EC" and sm2["crv"] == "SM2" and sm2["use"] == "sig"


def test_sm2_jws_verified_by_openssl_over_the_signing_input(
    keys: dict[str, Path], tmp_path: Path
) -> None:
    code, token = invoke(
        "jwt", "sign", "--key", str(keys["SM2SM3"]), "--claims", '{"sub": "陳大文"}'
    )
    assert code == 0, token
    token = token.strip()
    head, payload, sig = token.split(".")
    assert json.loads(b64d(head))["alg"] == "SM2SM3"
    claims = json.loads(b64d(payload))
    assert claims["sub"] == "陳大文" and claims["exp"] > claims["iat"] >= int(time.time()) - 5
    raw = b64d(sig)
    assert len(raw) == 64
    public = run("pkey", "-in", str(keys["SM2SM3"]), "-pubout").stdout
    signing_input = f"{head}.{payload}".encode()
    assert openssl_verify(tmp_path, public, signing_input, raw_to_der(raw))
    assert not openssl_verify(tmp_path, public, signing_input + b"x", raw_to_der(raw))


def test_verify_round_trip_and_failures(keys: dict[str, Path], tmp_path: Path) -> None:
    code, text = invoke("keys", "jwks", *map(str, keys.values()))
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(text)
    for alg, path in keys.items():
        code, renamed = invoke("jwt", "sign", "--key", str(path), "--kid", f"k-{alg}")
        assert code == 0 and json.loads(b64d(renamed.split(".")[0]))["kid"] == f"k-{alg}"
        code, out = invoke("jwt", "verify", "--jwks", str(jwks_file), renamed.strip())
        assert code == 1 and "no key for this kid" in out
        code, token = invoke("jwt", "sign", "--key", str(path), "--claims", '{"n": 1}')
        token = token.strip()
        code, out = invoke("jwt", "verify", "--jwks", str(jwks_file), token)
        assert code == 0, out
        assert json.loads(out)["header"]["alg"] == alg and json.loads(out)["claims"]["n"] == 1
        code, out = invoke("jwt", "verify", "--jwks", str(jwks_file), token[:-4] + "AAAA")
        assert code == 1 and out.strip().count("\n") == 0 and "invalid token" in out
    code, out = invoke("jwt", "verify", "--alg", "ES256", "--jwks", str(jwks_file), token)
    assert code == 1 and "not allowed" in out
    code, out = invoke("jwt", "verify", "--jwks", str(tmp_path / "missing.json"), token)
    assert code == 1 and "cannot read JWKS" in out
    code, out = invoke("jwt", "sign", "--key", str(keys["SM2SM3"]), "--claims", "[1]")
    assert code == 1 and "JSON object" in out


def test_expired_token_is_rejected(keys: dict[str, Path], tmp_path: Path) -> None:
    code, text = invoke("keys", "jwks", str(keys["SM2SM3"]))
    (tmp_path / "jwks.json").write_text(text)
    code, token = invoke("jwt", "sign", "--key", str(keys["SM2SM3"]), "--claims", '{"exp": 1000}')
    code, out = invoke("jwt", "verify", "--jwks", str(tmp_path / "jwks.json"), token.strip())
    assert code == 1 and "expired" in out
    code, out = invoke(
        "jwt", "verify", "--no-exp", "--jwks", str(tmp_path / "jwks.json"), token.strip()
    )
    assert code == 0


@pytest.fixture
def jwks_url(keys: dict[str, Path]) -> Iterator[str]:
    body = invoke("keys", "jwks", *map(str, keys.values()))[1].encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200 if self.path == "/jwks" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_verify_against_a_jwks_url(keys: dict[str, Path], jwks_url: str) -> None:
    code, token = invoke("jwt", "sign", "--key", str(keys["SM2SM3"]))
    code, out = invoke("jwt", "verify", "--jwks", f"{jwks_url}/jwks", token.strip())
    assert code == 0, out
    code, out = invoke("jwt", "verify", "--jwks", f"{jwks_url}/nope", token.strip())
    assert code == 1 and "cannot read JWKS" in out
