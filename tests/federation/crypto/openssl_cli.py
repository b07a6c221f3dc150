"""Helpers that drive the real ``openssl`` command line as an independent SM2 verifier."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

DISTID = "distid:1234567812345678"
OPENSSL = shutil.which("openssl")
assert OPENSSL, "the openssl command line is required for the SM2 interop tests"


def run(*args: str, data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([OPENSSL, *args], input=data, capture_output=True, timeout=30)


def openssl_verify(
    tmp: Path, public_pem: bytes, message: bytes, der_sig: bytes, *, distid: str = DISTID
) -> bool:
    (tmp / "pub.pem").write_bytes(public_pem)
    (tmp / "msg.bin").write_bytes(message)
    (tmp / "sig.der").write_bytes(der_sig)
    args = ["dgst", "-sm3", "-verify", str(tmp / "pub.pem")]
    if distid:
        args += ["-sigopt", distid]
    proc = run(*args, "-signature", str(tmp / "sig.der"), str(tmp / "msg.bin"))
    return proc.returncode == 0 and b"Verified OK" in proc.stdout


def openssl_sign(
    tmp: Path, private_pem_path: Path, message: bytes, *, distid: str = DISTID
) -> bytes:
    (tmp / "msg.bin").write_bytes(message)
    args = ["dgst", "-sm3", "-sign", str(private_pem_path)]
    if distid:
        args += ["-sigopt", distid]
    proc = run(*args, "-out", str(tmp / "sig.der"), str(tmp / "msg.bin"))
    assert proc.returncode == 0, proc.stderr
    return (tmp / "sig.der").read_bytes()


def openssl_genkey(tmp: Path) -> Path:
    path = tmp / "priv.pem"
    proc = run("genpkey", "-algorithm", "SM2", "-out", str(path))
    assert proc.returncode == 0, proc.stderr
    return path
