"""Cost of reading untrusted JSON: ``json.loads``, ``orjson.loads`` and
:func:`federation.untrusted.loads` (orjson + depth walk + duplicate-name pass) on a JWT
payload, a registration body and 1,500 nested arrays, in the same run.

Usage: .venv/bin/python bench/untrusted_json.py [--number N]

Prints microseconds per call, best of 5 rounds; the figures in the module docstring of
``federation.untrusted`` come from here.
"""

from __future__ import annotations

import argparse
import json
import timeit
from collections.abc import Callable
from typing import Any

import orjson

from federation.untrusted import UntrustedJSON, loads

JWT = json.dumps(
    {
        "iss": "client-abc-123",
        "sub": "client-abc-123",
        "aud": "https://idbridge.example.gov.hk",
        "jti": "b9c1a6f2-54c3-4f0e-a2c7-3a1f9d8d2e11",
        "exp": 1893456000,
        "iat": 1893455940,
        "nbf": 1893455940,
        "scope": "openid profile",
    }
).encode()
KEY = {"kty": "EC", "crv": "SM2", "x": "A" * 43, "y": "B" * 43, "kid": "k1", "alg": "SM2SM3"}
REGISTRATION = json.dumps(
    {
        "redirect_uris": ["https://rp.example.cn/cb", "https://rp.example.cn/cb2"],
        "client_name": "Guangdong e-service",
        "client_name#zh-CN": "广东政务服务",
        "contacts": ["ops@rp.example.cn"],
        "token_endpoint_auth_method": "private_key_jwt",
        "jwks": {"keys": [KEY]},
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "id_token_signed_response_alg": "SM2SM3",
        "logo_uri": "https://rp.example.cn/logo.png",
        "purposes": {"en": "x" * 200, "zh-HK": "用" * 100, "zh-CN": "用" * 100},
    },
    ensure_ascii=False,
).encode()
DEEP = b"[" * 1500 + b"]" * 1500


def per_call(fn: Callable[[], Any], number: int) -> float:
    """Microseconds per call, best of 5 rounds."""
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def refused(parse: Callable[[bytes], Any], doc: bytes) -> Callable[[], str]:
    def run() -> str:
        try:
            parse(doc)
        except (ValueError, RecursionError) as exc:
            return type(exc).__name__
        return "accepted"

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--number", type=int, default=20000)
    args = parser.parse_args()
    parsers: list[tuple[str, Callable[[bytes], Any]]] = [
        ("json.loads", json.loads),
        ("orjson.loads", orjson.loads),
        ("untrusted.loads", loads),
    ]
    for label, doc in (("JWT payload", JWT), ("registration body", REGISTRATION)):
        for name, parse in parsers:
            us = per_call(lambda p=parse, d=doc: p(d), args.number)
            print(f"{label:18} {len(doc):5} B  {name:16} {us:7.2f} µs")
    for name, parse in parsers:
        run = refused(parse, DEEP)
        outcome = run()
        us = per_call(run, args.number // 10)
        print(f"{'[ x 1500':18} {len(DEEP):5} B  {name:16} {us:7.2f} µs  ({outcome})")
    assert isinstance(UntrustedJSON("x"), ValueError)


if __name__ == "__main__":
    main()
