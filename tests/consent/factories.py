"""Builders for consent test data: a notice as a Guangdong client would register it and
the items a journey would release. Real values, real digests; no stubs."""

from __future__ import annotations

import time
from typing import Any

from consent.capture import Captured, ConsentChoices, ConsentNotice, ReleaseItem, capture
from consent.records import Localized, Purpose

DIGEST_KEY = bytes.fromhex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")
PII_KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")


def text(en: str) -> Localized:
    return Localized.model_validate({"zh-HK": f"{en}（繁）", "zh-CN": f"{en}（简）", "en": en})


def notice(
    client_id: str = "gd-social-security",
    *,
    version: str = "2024-01",
    remember_seconds: int = 3600,
    purposes: tuple[str, ...] = ("account-registration",),
) -> ConsentNotice:
    return ConsentNotice(
        client_id=client_id,
        client_name=text("Guangdong Social Security e-Service"),
        contact="dpo@gdsi.example.cn",
        purposes=[Purpose(id=p, description=text(f"purpose {p}")) for p in purposes],
        processing_method=text("stored and used to open an account"),
        retention=text("kept for 3 years"),
        rights=text("write to the DPO to access, correct or delete"),
        policy_url="https://gdsi.example.cn/privacy",
        notice_version=version,
        remember_seconds=remember_seconds,
    )


def items(name: str = "CHAN, Tai Man", permit: str | None = None) -> list[ReleaseItem]:
    out = [
        ReleaseItem(name="name", value=name, essential=True),
        ReleaseItem(name="birthdate", value="1980-01-31", essential=True),
        ReleaseItem(name="email", value="tm.chan@example.hk", essential=False),
    ]
    if permit is not None:
        out.append(
            ReleaseItem(name="hrp_number", value=permit, essential=True, supplied_by_person=True)
        )
    return out


def grant(
    subject: str = "sub-0001",
    client_id: str = "gd-social-security",
    *,
    now: int | None = None,
    keep: frozenset[str] = frozenset({"email"}),
    **notice_args: Any,
) -> Captured:
    return capture(
        subject,
        notice(client_id, **notice_args),
        items(),
        ConsentChoices(cross_boundary=True, kept_optional=keep, language="en"),
        digest_key=DIGEST_KEY,
        now=int(time.time()) if now is None else now,
    )
