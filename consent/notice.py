"""The notice model: the one description of a consent notice that the consent page, the
consent record, the receipt and the residents' ``/consents`` detail are all built from,
so that they cannot disagree (``docs/consent-notice.md``).

- :class:`DataUser`: who runs the bridge — the Hong Kong *data user* (PDPO s.2) — its
  address, privacy officer and how to make a data access or correction request (PDPO
  DPP1(3), DPP6). From configuration (``IDBRIDGE_OPERATOR_FILE``, ``deploy/operator.yaml.example``).
- :class:`RecipientContact`: the Guangdong recipient's contact method (PIPL art. 39):
  e-mail(s), and optionally an address and a phone number.
- :data:`SENSITIVE_NOTICE`: the PIPL art. 30 notice texts for sensitive personal
  information (art. 28), shown with their own tick (art. 29).

Imports ``consent.records`` only.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from consent.records import Localized


class DataUser(BaseModel):
    """The bridge operator as the Hong Kong data user (PDPO DPP1(3): name or job title and
    address of the person to whom access and correction requests are made)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Localized
    address: Localized
    privacy_officer: str = Field(
        min_length=1, description="Privacy officer's contact: an e-mail address (and phone)."
    )
    phone: str = ""
    url: str = ""
    access_requests: Localized = Field(
        description="How to make a data access or correction request (PDPO DPP6, s.18/s.22)."
    )
    configured: bool = True
    """``False`` only for :meth:`unconfigured` (tests and library use; ``serve`` refuses)."""

    @classmethod
    def load(cls, path: Path) -> DataUser:
        """Read the operator YAML (``deploy/operator.yaml.example`` documents it)."""
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"{path}: not a mapping")
        return cls.model_validate(data)

    @classmethod
    def unconfigured(cls) -> DataUser:
        """A visibly unconfigured operator for apps built without ``IDBRIDGE_OPERATOR_FILE``
        (``idbridge serve`` refuses to start like that)."""
        unset = Localized.model_validate(
            {
                "zh-HK": "（未設定營運者）",
                "zh-CN": "（未设置运营者）",
                "en": "(operator not configured)",
            }
        )
        return cls(
            name=unset,
            address=unset,
            privacy_officer="privacy@idbridge.invalid",
            access_requests=unset,
            configured=False,
        )

    @property
    def contact(self) -> str:
        """The privacy officer's contact as one line (the receipt's ``contact``)."""
        return ", ".join(p for p in (self.privacy_officer, self.phone) if p)


class RecipientContact(BaseModel):
    """How to reach the recipient (PIPL art. 39 "contact method")."""

    model_config = ConfigDict(frozen=True)

    emails: tuple[str, ...] = ()
    address: Localized | None = None
    phone: str = ""

    @property
    def line(self) -> str:
        """E-mails and phone as one line (the receipt's ``contact``; the record's)."""
        return ", ".join([*self.emails, *([self.phone] if self.phone else [])])


SENSITIVE_NOTICE: dict[str, Localized] = {
    "necessity": Localized.model_validate(
        {
            "zh-HK": "服務機構須核實你的身份及辦理你的申請，因此需要你的身份證明文件號碼。",
            "zh-CN": "服务机构须核实您的身份并办理您的申请，因此需要您的身份证件号码。",
            "en": "The service needs your identity document number to confirm who you are "
            "and to handle your application.",
        }
    ),
    "effect": Localized.model_validate(
        {
            "zh-HK": "身份證明文件號碼屬敏感個人資料：一旦洩露或被非法使用，你的人身或財產"
            "安全可能受損。",
            "zh-CN": "身份证件号码属于敏感个人信息：一旦泄露或者被非法使用，您的人身或财产"
            "安全可能受到危害。",
            "en": "An identity document number is sensitive personal information: if it "
            "leaked or were misused, your safety or property could be harmed.",
        }
    ),
}
"""PIPL art. 30: why the sensitive items are necessary and the effect on the person."""
