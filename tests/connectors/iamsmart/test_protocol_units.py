"""Units of the wire format: GCM framing, HMAC signing (checked against the OpenSSL CLI),
D-code mapping, source from User-Agent, language, attribute translation, HKIDs of the
personas, and the shared Redis CEK cache."""

from __future__ import annotations

import base64
import struct
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest
import redis.asyncio as aioredis

from connectors.base import (
    UpstreamConfigError,
    UpstreamDenied,
    UpstreamLoginExpired,
    UpstreamProtocolError,
)
from connectors.iamsmart import crypto
from connectors.iamsmart.attributes import attributes_from_iamsmart, plan_requests
from connectors.iamsmart.cek import CekCache, ResultKeyRefused
from connectors.iamsmart.connector import iamsmart_language
from connectors.iamsmart.errors import D_CODES, error_for_code
from connectors.iamsmart.signing import MonotonicClock, signature, signature_matches
from connectors.iamsmart.simulator.config import load_personas
from connectors.iamsmart.sources import source_for_user_agent
from federation.identity import Attr

from .conftest import RunningSim, make_config


def test_gcm_frame_layout_and_round_trip() -> None:
    cek = crypto.new_cek()
    frame = crypto.encrypt(cek, b'{"a":1}')
    raw = base64.b64decode(frame)
    assert struct.unpack(">i", raw[:4]) == (12,)
    assert len(raw) == 4 + 12 + len(b'{"a":1}') + 16
    assert crypto.decrypt(cek, frame) == b'{"a":1}'


@pytest.mark.parametrize("position", [0, 3, 4, 15, 16, -1])
def test_gcm_tampering_is_detected(position: int) -> None:
    cek = crypto.new_cek()
    raw = bytearray(base64.b64decode(crypto.encrypt(cek, b"hello world")))
    raw[position] ^= 0x40
    with pytest.raises(crypto.CryptoError):
        crypto.decrypt(cek, base64.b64encode(bytes(raw)).decode())


def test_gcm_rejects_wrong_key_and_garbage() -> None:
    frame = crypto.encrypt(crypto.new_cek(), b"x")
    for bad in (frame, "not base64!", "", base64.b64encode(b"\x00\x00\x00\x0c").decode()):
        with pytest.raises(crypto.CryptoError):
            crypto.decrypt(crypto.new_cek(), bad)


def test_hmac_signature_matches_openssl() -> None:
    secret, body = "s3cr3t", '{"code":"abc","grantType":"authorization_code"}'
    message = "clientAHmacSHA2561700000000000n0nce" + body
    out = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hmac", secret, "-binary"],
        input=message.encode(),
        capture_output=True,
        check=True,
    ).stdout
    ours = signature("clientA", secret, "1700000000000", "n0nce", body)
    assert unquote(ours) == base64.b64encode(out).decode()
    assert "+" not in ours and "/" not in ours and "=" not in ours  # URL-encoded
    assert signature_matches("clientA", secret, "1700000000000", "n0nce", body, ours)
    assert not signature_matches("clientA", secret, "1700000000001", "n0nce", body, ours)


def test_clock_never_goes_backwards() -> None:
    clock = MonotonicClock()
    stamps = [clock.now_ms() for _ in range(1000)]
    assert stamps == sorted(stamps)


@pytest.mark.parametrize(
    ("code", "kind", "oidc"),
    [
        ("D40000", UpstreamDenied, "access_denied"),
        ("D40001", UpstreamDenied, "access_denied"),
        ("D20001", UpstreamDenied, "access_denied"),
        ("D40003", UpstreamLoginExpired, "login_required"),
        ("D40004", UpstreamLoginExpired, "login_required"),
        ("D20008", UpstreamConfigError, "server_error"),
        ("D20006", UpstreamConfigError, "server_error"),
        ("D90000", Exception, "temporarily_unavailable"),
        ("D12345", UpstreamProtocolError, "server_error"),
    ],
)
def test_d_codes_map_to_typed_errors(code: str, kind: type, oidc: str) -> None:
    error = error_for_code(code)
    assert isinstance(error, kind) and error.oidc_error == oidc and error.upstream_code == code


def test_every_code_has_a_meaning_and_error() -> None:
    assert all(c.startswith("D") and len(c) == 6 for c in D_CODES)
    assert {"D20001", "D20008", "D40000", "D40001", "D40003", "D40004"} <= {
        c for c, e in D_CODES.items() if e.documented
    }


@pytest.mark.parametrize(
    ("ua", "source"),
    [
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36", "PC_Browser"),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Version/17.5 Safari/605.1.15", "PC_Browser"),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Version/17.5 Mobile Safari",
            "iOS_Safari",
        ),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) CriOS/126.0 Mobile", "iOS_Chrome"),
        ("Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) FxiOS/127.0 Mobile", "iOS_Firefox"),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5) EdgiOS/126.0 Mobile", "iOS_Edge"),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/126.0 Mobile Safari/537.36",
            "Android_Chrome",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-S921B) SamsungBrowser/25.0 Chrome/121.0 Mobile",
            "Android_Samsung",
        ),
        ("Mozilla/5.0 (Android 14; Mobile; rv:127.0) Gecko/127.0 Firefox/127.0", "Android_Firefox"),
        (
            "Mozilla/5.0 (Linux; Android 13; 2201123G) MiuiBrowser/17.8 Chrome/112.0",
            "Android_Xiaomi",
        ),
        (
            "Mozilla/5.0 (Linux; Android 12; NOH-AN00) HuaweiBrowser/14.0 Chrome/99.0",
            "Android_Huawei",
        ),
        ("Mozilla/5.0 (Linux; Android 14) Chrome/126.0 Mobile EdgA/126.0", "Android_Edge"),
        (
            "Mozilla/5.0 (Linux; Android 14) Chrome/126.0 Mobile iAMSmart/3.1",
            "Android_IMS_InAppBrowser",
        ),
        ("", "PC_Browser"),
    ],
)
def test_source_from_user_agent(ua: str, source: str) -> None:
    assert source_for_user_agent(ua) == source


@pytest.mark.parametrize(
    ("tag", "lang"),
    [
        ("en", "en-US"),
        ("en-GB", "en-US"),
        ("zh-HK", "zh-HK"),
        ("zh-TW", "zh-HK"),
        ("zh-Hant", "zh-HK"),
        ("zh-CN", "zh-CN"),
        ("zh-Hans-CN", "zh-CN"),
        ("fr", "zh-HK"),
    ],
)
def test_language(tag: str, lang: str) -> None:
    assert iamsmart_language(tag) == lang


def test_attribute_translation_keeps_values_and_drops_unknown() -> None:
    phone = {"CountryCode": "852", "NationalDestinationCode": "", "SubscriberNumber": "91234567"}
    out = attributes_from_iamsmart(
        {"idNo": {"Identification": "A123456", "CheckDigit": "3"}, "chNameVerified": "Y"},
        {"mobileNumber": phone, "shoeSize": "42", "idNo": {"Identification": "X"}},
    )
    assert out == {
        "hkid": {"Identification": "A123456", "CheckDigit": "3"},
        "name_zh_verified": "Y",
        "mobile_phone": phone,
    }


def test_request_plan() -> None:
    plan = plan_requests(
        [Attr.HKID, Attr.NAME_ZH_VERIFIED, Attr.NAME_ZH, Attr.EMAIL, Attr.HOME_RETURN_PERMIT]
    )
    assert plan.profile_fields == ("idNo", "chName") and plan.eme_fields == ("emailAddress",)
    assert plan.unavailable == (Attr.HOME_RETURN_PERMIT,)
    assert plan_requests([Attr.HKID], use_profile_api=False).eme_fields == ("idNo",)


def _check_digit(ident: str) -> str:
    letters = "".join(c for c in ident if c.isalpha())
    values = ([36] if len(letters) == 1 else []) + [ord(c) - 55 for c in letters]
    values += [int(d) for d in ident[len(letters) :]]
    total = sum(v * w for v, w in zip(values, range(9, 1, -1), strict=True))
    digit = (11 - total % 11) % 11
    return "A" if digit == 10 else str(digit)


def test_personas_are_valid_and_cover_the_cases() -> None:
    personas = list(load_personas().values())
    assert len(personas) >= 12
    for p in personas:
        ident = p.profile["idNo"]
        assert _check_digit(ident["Identification"]) == ident["CheckDigit"], p.id
    lengths = {len(p.profile["idNo"]["Identification"]) for p in personas}
    assert lengths == {7, 8}
    assert {p.user_type for p in personas} == {"default", "sign"}
    assert {p.profile.get("chNameVerified") for p in personas} >= {"Y", "N", None}
    ages = [2026 - int(p.profile["birthDate"][:4]) for p in personas]
    assert any(11 <= a <= 17 for a in ages)
    kinds = {
        next(iter(p.eme[k]))
        for p in personas
        for k in ("residentialAddress", "postalAddress")
        if k in p.eme
    }
    assert {
        "ChiPremisesAddress",
        "EngPremisesAddress",
        "FreeFormatAddress",
        "PostBoxAddress",
    } <= kinds
    assert any(not p.eme for p in personas)
    assert any("峯" in p.profile.get("chName", {}).get("ChineseName", "") for p in personas)


class _Fetch:
    def __init__(self, wrapped: str) -> None:
        self.calls, self.wrapped = 0, wrapped

    async def fetch_cek(self) -> tuple[str, int]:
        self.calls += 1
        return self.wrapped, 10**13


async def test_cek_cache_is_shared_through_redis(
    redis: aioredis.Redis,
    simulator: RunningSim,
    receiver,
    keypair: tuple[Path, Path],  # type: ignore[no-untyped-def]
) -> None:
    config = make_config(simulator.url, receiver, keypair[0])
    cek = crypto.new_cek()
    wrapped = crypto.wrap_cek(crypto.load_public_key(keypair[1].read_bytes()), cek)
    first, second = CekCache(config, redis), CekCache(config, redis)
    fetch = _Fetch(wrapped)
    assert await first.get(fetch) == cek
    assert await second.get(fetch) == cek
    assert fetch.calls == 1
    stored = await redis.get("idb:cache:iamsmart:cek:test-rp")
    assert stored and base64.b64encode(cek).decode() not in stored  # only the wrapped key
    await second.invalidate()
    assert await redis.get("idb:cache:iamsmart:cek:test-rp") is None


async def test_result_content_opens_only_with_a_cek_getkey_issued(
    simulator: RunningSim,
    receiver,
    keypair: tuple[Path, Path],  # type: ignore[no-untyped-def]
) -> None:
    """Issue 16: the callback's own secretKey proves nothing (it is wrapped to our public
    key); only a CEK getKey gave us opens a result, and an unknown one costs one getKey."""
    config = make_config(simulator.url, receiver, keypair[0], result_rekey_interval_seconds=60)
    public = crypto.load_public_key(keypair[1].read_bytes())
    issued, forged = crypto.new_cek(), crypto.new_cek()
    cache = CekCache(config)
    fetch = _Fetch(crypto.wrap_cek(public, issued))
    frame = crypto.encrypt(issued, b'{"a": 1}')
    # nothing in hand: one getKey, whose key opens it (with or without a secretKey)
    assert await cache.open_result(None, frame, fetch) == b'{"a": 1}' and fetch.calls == 1
    assert await cache.open_result(crypto.wrap_cek(public, issued), frame, fetch) == b'{"a": 1}'
    assert fetch.calls == 1  # in hand: no call
    # a fresh key wrapped to our public key (anyone can make one) is refused
    with pytest.raises(ResultKeyRefused):
        await cache.open_result(
            crypto.wrap_cek(public, forged), crypto.encrypt(forged, b"{}"), _Fetch("x")
        )
    with pytest.raises(ResultKeyRefused):  # no secretKey, content under a foreign key
        await cache.open_result(None, crypto.encrypt(forged, b"{}"), fetch)
    # an issued key named by secretKey must open the content it came with
    with pytest.raises(ResultKeyRefused):
        await cache.open_result(crypto.wrap_cek(public, issued), crypto.encrypt(forged, b""), fetch)
    assert fetch.calls == 1  # the forged posts above made no getKey call within the interval


async def test_unknown_result_key_makes_one_getkey_and_a_rotated_key_is_accepted(
    simulator: RunningSim,
    receiver,
    keypair: tuple[Path, Path],  # type: ignore[no-untyped-def]
) -> None:
    config = make_config(simulator.url, receiver, keypair[0], result_rekey_interval_seconds=0)
    public = crypto.load_public_key(keypair[1].read_bytes())
    old, new = crypto.new_cek(), crypto.new_cek()
    cache = CekCache(config)
    await cache.get(_Fetch(crypto.wrap_cek(public, old)))
    rotated = _Fetch(crypto.wrap_cek(public, new))
    # iAM Smart rotated its CEK: the callback's key is unknown, getKey confirms it
    frame = crypto.encrypt(new, b"{}")
    assert await cache.open_result(crypto.wrap_cek(public, new), frame, rotated) == b"{}"
    assert rotated.calls == 1
    # the earlier key is still valid and still opens results
    assert await cache.open_result(None, crypto.encrypt(old, b"[]"), rotated) == b"[]"
    assert rotated.calls == 1
    forged = crypto.new_cek()
    with pytest.raises(ResultKeyRefused):
        await cache.open_result(
            crypto.wrap_cek(public, forged), crypto.encrypt(forged, b""), rotated
        )
    assert rotated.calls == 2  # compared once more, then refused
