"""Settings of the demo e-service (``IDBRIDGE_DEMO_*``), the relying party's side of its
registration in ``deploy/demo/clients.yaml``.

The defaults are the ``make demo`` layout: bridge on 127.0.0.1:8000, simulator on 8001,
the e-service on 8002. The client secret is a public DEMO ONLY value: ``idbridge demo``
passes the same variable to the bridge, whose clients file names it
(``client_secret_env: IDBRIDGE_DEMO_CLIENT_SECRET``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_CLIENT_ID = "gd-demo-eservice"
DEMO_CLIENT_SECRET = "DEMO-ONLY-gd-eservice-secret-4b9e1c7a2f5d8e3b6a0c9f1e7d2b5a8c"  # noqa: S105
"""Public, demo-only secret (≥ 256 bits of text); never use it anywhere else."""

Locale = Literal["zh-CN", "zh-HK", "en"]


class DemoServiceSettings(BaseSettings):
    """The demo e-service's configuration. Environment variables are ``IDBRIDGE_DEMO_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="IDBRIDGE_DEMO_", extra="ignore")

    issuer: str = Field(
        "http://127.0.0.1:8000", description="The bridge's issuer (discovery is read from it)."
    )
    public_url: str = Field(
        "http://127.0.0.1:8002", description="The e-service's own base URL as browsers see it."
    )
    client_id: str = Field(DEMO_CLIENT_ID, description="Client id registered at the bridge.")
    client_secret: SecretStr = Field(
        SecretStr(DEMO_CLIENT_SECRET), description="Client secret (client_secret_basic)."
    )
    scope: str = Field(
        "openid profile email phone address", description="Scopes asked for at every login."
    )
    id_token_algorithms: tuple[str, ...] = Field(
        ("SM2SM3",), description="ID token algorithms accepted (the registered one)."
    )
    default_locale: Locale = Field("zh-CN", description="Page language when none is chosen.")
    clock_skew_seconds: int = Field(60, ge=0, le=600, description="Leeway for exp and iat.")
    http_timeout_seconds: float = Field(10.0, gt=0, description="Timeout of calls to the bridge.")

    @property
    def redirect_uri(self) -> str:
        """``<public_url>/callback`` (registered exactly)."""
        return self.public_url.rstrip("/") + "/callback"

    @property
    def post_logout_redirect_uri(self) -> str:
        """``<public_url>/logged-out`` (registered exactly)."""
        return self.public_url.rstrip("/") + "/logged-out"
