"""The per-process object every journey step uses (``app.state.journey``).

Built once by the app factory when Redis is up: the OIDC provider, the upstream connector
(``connectors.base.open_connector``), the mapping profiles (loaded once, by client), the
consent services, the pages and the journey store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import yaml
from fastapi import Request
from fastapi.responses import Response

from consent.notice import DataUser
from consent.services import ConsentServices
from federation import cookies
from federation.journey.admission import JourneyAdmission
from federation.journey.record import JourneyStore, Sealer
from federation.oidc.clients import Client
from federation.oidc.provider import OidcProvider
from federation.pages import Pages
from federation.settings import Settings
from mappings import Profile, load_profile

NOTICE_FILE = Path(__file__).with_name("notice.yaml")
DEFAULT_PROFILE = "default"
"""``Client.mapping_profile`` value meaning ``IDBRIDGE_DEFAULT_MAPPING_PROFILE``."""


@dataclass(frozen=True, slots=True)
class NoticeTexts:
    """The standard notice's version (``notice.yaml``); the texts themselves are each
    client's registered ones and the operator's (:mod:`consent.notice`)."""

    version: str

    @classmethod
    def load(cls, path: Path = NOTICE_FILE) -> NoticeTexts:
        """Read ``notice.yaml``."""
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return cls(version=str(data["version"]))


class ProfileCache:
    """Mapping profiles by name or path, loaded once (``ProfileError`` at first use)."""

    def __init__(self, default: str) -> None:
        self.default = default
        self._loaded: dict[str, Profile] = {}

    def name_for(self, client: Client) -> str:
        """The profile name or path a client uses."""
        name = client.mapping_profile
        return self.default if name == DEFAULT_PROFILE else name

    def for_client(self, client: Client) -> Profile:
        """The client's profile."""
        name = self.name_for(client)
        profile = self._loaded.get(name)
        if profile is None:
            profile = self._loaded[name] = load_profile(name)
        return profile


@dataclass
class Journey:
    """What the journey steps share."""

    settings: Settings
    provider: OidcProvider
    pages: Pages
    redis: aioredis.Redis
    store: JourneyStore
    sealer: Sealer
    consent: ConsentServices
    profiles: ProfileCache
    connector: Any | None
    """The upstream connector (``connectors.base`` capabilities), or ``None`` when none
    is configured: logins then end in ``temporarily_unavailable``."""
    notice: NoticeTexts = field(default_factory=NoticeTexts.load)
    operator: DataUser = field(default_factory=DataUser.unconfigured)
    """Who runs the bridge (``IDBRIDGE_OPERATOR_FILE``), named on every consent page."""
    first_party_clients: frozenset[str] = frozenset()
    """The bridge's own services (the residents' self-service area): no consent page and
    no consent record (nothing leaves the bridge), and ``sub`` is the bridge subject."""
    admission: JourneyAdmission | None = None
    """The per-address cap on journeys before the login callback (``None``: no cap)."""

    @property
    def secure_cookies(self) -> bool:
        """Cookies are ``Secure`` (and ``__Host-``) when the bridge is served over https."""
        return cookies.secure_issuer(self.settings.issuer)

    def cookie(self, request: Request, base: str) -> str | None:
        """The bridge cookie ``base`` of this request (:mod:`federation.cookies`)."""
        return cookies.read_cookie(request.cookies, base, self.secure_cookies)

    def set_cookie(self, response: Response, base: str, value: str, max_age: int) -> None:
        """Set the bridge cookie ``base`` (``__Host-``, Secure behind https)."""
        cookies.set_cookie(response, base, value, secure=self.secure_cookies, max_age=max_age)

    def clear_cookie(self, response: Response, base: str) -> None:
        """Delete the bridge cookie ``base``."""
        cookies.clear_cookie(response, base, secure=self.secure_cookies)

    @property
    def salt(self) -> bytes:
        """The pairwise salt (shared with the OIDC provider)."""
        return self.provider.pairwise_salt
