#!/usr/bin/env python3
"""Reference verifier for idbridge's consent transparency log (docs/consent.md).

Written for third parties: it uses only the Python standard library (hashlib's SM3 comes
from OpenSSL) and the ``openssl`` command for the SM2 signature, and nothing of idbridge.

    verify_consent_log.py inclusion PROOF.json JWKS.json
        PROOF.json: ``idbridge audit prove`` output or the /consents "proof" download.
        Checks (1) the tree head's SM2SM3 signature, (2) leaf = SM3(0x00 || entry) with
        entry the canonical JSON of the event, (3) the audit path leads from the leaf to
        the signed root of its shard (RFC 9162 §2.1.3.2).
    verify_consent_log.py consistency OLD_SIZE NEW_SIZE OLD_ROOT NEW_ROOT PROOF_HEX...
        RFC 9162 §2.1.4.2 for one shard (sizes, hex roots, the proof's hex hashes).

Prints ``OK`` and exits 0, or prints what failed and exits 1.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path


def sm3(data: bytes) -> bytes:
    return hashlib.new("sm3", data).digest()


def node(left: bytes, right: bytes) -> bytes:
    return sm3(b"\x01" + left + right)


def b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_sm2_jws(token: str, jwks: dict) -> dict:
    """Check an SM2SM3 compact JWS with ``openssl`` (as the README's procedure does)."""
    header_b64, payload_b64, sig_b64 = token.split(".")
    header = json.loads(b64url(header_b64))
    key = next(k for k in jwks["keys"] if k.get("kid") == header.get("kid"))
    sig = b64url(sig_b64)
    r, s = sig[:32].hex(), sig[32:].hex()
    x, y = b64url(key["x"]).hex(), b64url(key["y"]).hex()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "input").write_bytes(f"{header_b64}.{payload_b64}".encode())
        (d / "sig.cnf").write_text(f"asn1=SEQUENCE:sig\n[sig]\nr=INTEGER:0x{r}\ns=INTEGER:0x{s}\n")
        (d / "pub.cnf").write_text(
            "asn1=SEQUENCE:spki\n[spki]\nalg=SEQUENCE:alg\n"
            f"key=FORMAT:HEX,BITSTRING:04{x}{y}\n[alg]\ntype=OID:id-ecPublicKey\n"
            "curve=OID:1.2.156.10197.1.301\n"
        )
        for cnf, der in (("sig.cnf", "sig.der"), ("pub.cnf", "pub.der")):
            run(["openssl", "asn1parse", "-genconf", cnf, "-out", der, "-noout"], d)
        run(["openssl", "pkey", "-pubin", "-inform", "DER", "-in", "pub.der", "-out", "p.pem"], d)
        run(
            [
                "openssl",
                "dgst",
                "-sm3",
                "-verify",
                "p.pem",
                "-sigopt",
                "distid:1234567812345678",
                "-signature",
                "sig.der",
                "input",
            ],
            d,
        )
    return json.loads(b64url(payload_b64))


def run(args: list[str], cwd: Path) -> None:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        fail(f"{args[1]} failed: {done.stdout.strip()} {done.stderr.strip()}")


def inclusion_ok(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def consistency_ok(m: int, n: int, old: bytes, new: bytes, path: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2."""
    if m == n:
        return old == new and not path
    if m == 0 or not path:
        return m == 0 and not path
    if m & (m - 1) == 0:
        path = [old, *path]
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old and sr == new


def fail(why: str) -> None:
    print(f"FAILED: {why}")
    sys.exit(1)


def main(argv: list[str]) -> None:
    if len(argv) == 3 and argv[0] == "inclusion":
        proof = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
        head = verify_sm2_jws(proof["sth"], json.loads(Path(argv[2]).read_text()))
        entry = json.dumps(
            proof["entry"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
        leaf = sm3(b"\x00" + entry)
        if leaf.hex() != proof["leafHash"]:
            fail("the entry does not hash to leafHash")
        shard = head["shards"][proof["shard"]]
        path = [bytes.fromhex(p) for p in proof["inclusionPath"]]
        if not inclusion_ok(
            leaf, proof["leafIndex"], shard["size"], path, bytes.fromhex(shard["root"])
        ):
            fail("the audit path does not lead to the signed root")
        print(
            f"OK: leaf {proof['leafIndex']} of shard {proof['shard']} is in tree head n={head['n']}"
        )
    elif len(argv) >= 5 and argv[0] == "consistency":
        m, n = int(argv[1]), int(argv[2])
        path = [bytes.fromhex(p) for p in argv[5:]]
        if not consistency_ok(m, n, bytes.fromhex(argv[3]), bytes.fromhex(argv[4]), path):
            fail(f"the tree of {n} does not extend the tree of {m}")
        print(f"OK: the tree of {n} extends the tree of {m}")
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv[1:])
