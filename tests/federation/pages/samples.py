"""Realistic view models for the page tests (unit and browser)."""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.image.svg

from federation.pages import (
    ConsentAttribute,
    ConsentDonePage,
    ConsentPage,
    HandoffPage,
    RelyingPartyView,
    ServiceLink,
    SuppliedField,
    SupportContact,
)

SUPPORT = SupportContact(email="support@idbridge.example.hk", phone="+852 3100 0000")

RP = RelyingPartyView(
    name={
        "zh-HK": "廣東政務服務網",
        "zh-CN": "广东政务服务网",
        "en": "Guangdong Government Services Portal",
    },
    contact="privacy@gdzwfw.example.cn · +86 20 1234 5678",
    client_id="gd-portal",
    hosts=("gdzwfw.example.cn",),
    verified=True,
)

SELF_REGISTERED_RP = RelyingPartyView(
    name={"zh-HK": "網上預約服務", "zh-CN": "网上预约服务", "en": "Online booking service"},
    contact="dpo@booking.example.cn",
    client_id="dyn-0123456789abcdef",
    hosts=("booking.example.cn",),
    self_registered=True,
)

SERVICE = ServiceLink(name=RP.name, url="https://gdzwfw.example.cn/login")

PURPOSE = {
    "zh-HK": "核實你的身份，以便在網上辦理政務服務（例如申請證明文件）。",
    "zh-CN": "核验您的身份，以便在线办理政务服务（例如申请证明材料）。",
    "en": (
        "To confirm who you are so that you can use government services online,"
        " such as applying for certificates."
    ),
}
METHOD = {
    "zh-HK": "以電子方式儲存及比對，只供上述用途，不會轉交其他機構。",
    "zh-CN": "以电子方式存储和比对，仅用于上述目的，不会提供给其他机构。",
    "en": (
        "Stored and matched electronically, used only for this purpose"
        " and not passed to other organisations."
    ),
}
RETENTION = {
    "zh-HK": "你的帳戶存在期間，以及其後三年。",
    "zh-CN": "账户存续期间及其后三年。",
    "en": "While your account exists, and for three years after it is closed.",
}

HRP_PATTERN = "[HMhm][0-9]{8}([0-9]{2})?"


def attributes(
    locale: str = "zh-HK", *, phone_selected: bool = False
) -> tuple[ConsentAttribute, ...]:
    """The profile sends the Chinese name in Simplified script; a zh-HK reader also sees it
    in Traditional script."""
    shown = "陳大文" if locale == "zh-HK" else None
    return (
        ConsentAttribute("name_zh", "陈大文", essential=True, claim="name", shown_value=shown),
        ConsentAttribute("name_en", "CHAN, Tai Man", essential=True, claim="name_en"),
        ConsentAttribute("hkid", "A123456(3)", essential=True, claim="idcard", masked=True),
        ConsentAttribute("birth_date", "1990-01-02", essential=True, claim="birthdate"),
        ConsentAttribute(
            "mobile_phone",
            "+852 9123 4567",
            essential=False,
            claim="telephonenumber",
            selected=phone_selected,
        ),
        ConsentAttribute("email", "chan.taiman@example.hk", essential=False, claim="email"),
    )


def consent_page(
    locale: str = "zh-HK",
    *,
    csrf_token: str = "v1.0.test",
    action_url: str = "/consent",
    rp: RelyingPartyView = RP,
    permit: str = "",
    permit_invalid: bool = False,
    cross_boundary_missing: bool = False,
    phone_selected: bool = False,
) -> ConsentPage:
    return ConsentPage(
        action_url=action_url,
        csrf_token=csrf_token,
        relying_party=rp,
        purpose=PURPOSE,
        processing_method=METHOD,
        retention=RETENTION,
        attributes=attributes(locale, phone_selected=phone_selected),
        remember_days=180,
        manage_url="/my/consents",
        supplied=(
            SuppliedField(
                "home_return_permit",
                pattern=HRP_PATTERN,
                value=permit,
                invalid=permit_invalid,
                max_length=11,
            ),
        ),
        notice_version="2025-01",
        cross_boundary_missing=cross_boundary_missing,
    )


def qr_data_uri(text: str) -> str:
    """A QR code as a base64 SVG data URI (what the journey would embed)."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def handoff_page(*, poll_url: str | None = None) -> HandoffPage:
    return HandoffPage(
        continue_url="/handoff/continue",
        cancel_url="/handoff/cancel",
        qr_image_url=qr_data_uri("https://sandbox.iamsmart.example/qr?ticket=0123456789"),
        poll_url=poll_url,
        expires_minutes=2,
    )


def done_page() -> ConsentDonePage:
    return ConsentDonePage(
        relying_party=RP,
        continue_url="/rp/callback?code=abc&state=xyz",
        receipt_url="/my/consents/c-123/receipt",
        manage_url="/my/consents",
    )
