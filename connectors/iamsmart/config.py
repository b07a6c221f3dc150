"""The iAM Smart connector's configuration (Dex style: one documented model + a factory).

Loaded from the ``connectors:`` YAML of the bridge (``{"type": "iamsmart", ...}``) or
from ``IDBRIDGE_IAMSMART_*`` environment variables. Switches that weaken security start
with ``insecure_``. Where the public facts are uncertain (domain-facts §1) the behaviour is
a setting whose default is what the public clients do.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from connectors.iamsmart.crypto import RsaPadding, load_private_key
from federation.outbound import is_loopback_host

Language = Literal["en-US", "zh-HK", "zh-CN"]
ResultCorrelation = Literal["business_id", "business_id_or_state", "insecure_txid"]
ITE_BASE_URL = "https://apigw-isit.staging-eid.gov.hk"


class IAMSmartConfig(BaseSettings):
    """Settings of one iAM Smart registration (an "online service" in the ESP)."""

    model_config = SettingsConfigDict(env_prefix="IDBRIDGE_IAMSMART_", extra="forbid")

    id: str = Field("iamsmart", description="Connector id; IdentityRecord.upstream.")
    client_id: str = Field(..., min_length=1, description="Client ID issued by the ESP.")
    client_secret: SecretStr = Field(..., description="Client secret issued by the ESP.")
    api_base_url: str = Field(
        "http://127.0.0.1:8001",
        description=f"API gateway base URL: ITE {ITE_BASE_URL}, production as DPO gives it, "
        "or the simulator (`idbridge iamsmart-sim`, default port 8001).",
    )
    redirect_uri: str = Field(
        ..., description="Login callback URL (GET code/state), registered in the ESP."
    )
    result_callback_uri: str | None = Field(
        None,
        description="URL for the encrypted profile/e-ME result POSTs (registered in the ESP); "
        "defaults to redirect_uri.",
    )
    encipherment_key_file: Path | None = Field(
        None, description="PEM file of the RSA private key of our encipherment certificate."
    )
    encipherment_key_pem: SecretStr | None = Field(
        None, description="The same key inline (PEM text); used when no file is given."
    )
    encipherment_key_password: SecretStr | None = Field(
        None, description="Password of an encrypted PEM key."
    )
    rsa_padding: RsaPadding = Field(
        "pkcs1v15", description="Padding of secretKey: pkcs1v15 (public clients) or OAEP."
    )
    scopes: list[str] = Field(
        default_factory=lambda: ["eidapi_auth", "eidapi_profiles", "eidapi_formFilling"],
        description="getQR scope (approved for the client in the ESP).",
    )
    use_profile_api: bool = Field(
        True,
        description="Ask identity fields through eidapi_profiles; false = ask them through "
        "e-ME (the profile API may be reserved for government bureaux).",
    )
    default_language: Language = Field("zh-HK", description="lang when none can be derived.")
    broker_page_on_mobile: bool = Field(
        True, description="brokerPage=true on phones: open the app by Universal/App Link."
    )
    broker_page_in_app_browser: bool = Field(
        False,
        description="Also send brokerPage=true from the iAM Smart in-app browser "
        "(*_IMS_InAppBrowser sources); a public demo sends false there (nothing to hand "
        "over to). Not published.",
    )
    encrypt_get_token_body: bool = Field(
        True,
        description="Send the getToken body CEK-encrypted (Cyberport: every POST but getKey is "
        "encrypted; three of four public clients do); false = plain JSON as the sandbox "
        "guide's example is labelled. An encrypted answer is opened either way.",
    )
    eme_form_name: str = Field(
        "Cross-boundary sign-in (Guangdong e-services)",
        description="e-ME formName shown in the app.",
    )
    eme_form_num: str = Field("IDB-GD-01", description="e-ME formNum shown in the app.")
    eme_form_desc: str = Field(
        "Details to sign in to a Guangdong e-service", description="e-ME formDesc."
    )
    callback_window_seconds: int = Field(
        1080, ge=60, description="How long iAM Smart may take to call back (18 min)."
    )
    auth_code_lifetime_seconds: int = Field(
        60, ge=1, description="Auth code lifetime (30 s or 60 s in the sources); informative."
    )
    app_scheme: str | None = Field(
        "iamsmart",
        pattern=r"^[A-Za-z][A-Za-z0-9+.-]{0,31}$",
        description="URL scheme of the iAM Smart app for the 'Open iAM Smart' button after an "
        "app-to-app login (authByQR false): <scheme>://profile?ticketID=... . Not published: "
        "the production and test apps differ; ask the sandbox programme. null: no button.",
    )
    approval_url_template: str | None = Field(
        None,
        description="Simulator only: where the browser approves a profile/e-ME request, "
        "with {ticket_id} and {lang}. Unset for the real service (approval on the phone).",
    )
    connect_timeout_seconds: float = Field(3.0, gt=0, description="TCP/TLS connect timeout.")
    read_timeout_seconds: float = Field(10.0, gt=0, description="Response timeout.")
    retry_attempts: int = Field(3, ge=1, le=10, description="Attempts for retry-safe calls.")
    retry_backoff_seconds: float = Field(
        0.2, ge=0, description="First backoff; doubles each retry (with jitter)."
    )
    cek_refresh_margin_seconds: int = Field(
        300, ge=0, description="Fetch a new CEK this long before the cached one expires."
    )
    result_rekey_interval_seconds: float = Field(
        10.0,
        ge=0,
        description="A result callback under a CEK this process does not know makes one "
        "getKey call to compare (issue 16); at most one such call per this interval.",
    )
    result_correlation: ResultCorrelation = Field(
        "business_id_or_state",
        description="How a result callback finds its request: business_id = the decrypted "
        "content must name the businessID we sent; business_id_or_state (default) = or, "
        "when it carries no businessID, the txID's ticket and the decrypted state must "
        "both match; insecure_txid = the plaintext txID alone (never in production).",
    )
    codes_file: Path | None = Field(
        None,
        description="YAML table of the D return codes (format: connectors/iamsmart/codes.yaml, "
        "the default); replace it with the confirmed table from the iAM Smart spec.",
    )
    result_client_cert: Literal["off", "required"] = Field(
        "off",
        description="required: a result callback counts only when the reverse proxy verified "
        "the sender's client certificate (CorpID's production option, CorpID-SPEC §2.2) and "
        "says so in result_client_cert_verify_header; the proxy must overwrite that header "
        "on every request and the bridge must not be reachable around the proxy.",
    )
    result_client_cert_verify_header: str = Field(
        "X-SSL-Client-Verify",
        description="Header the proxy sets to SUCCESS after verifying the client certificate "
        "(nginx: proxy_set_header X-SSL-Client-Verify $ssl_client_verify).",
    )
    result_client_cert_fingerprint_header: str = Field(
        "X-SSL-Client-Fingerprint",
        description="Header carrying the verified certificate's fingerprint (nginx: "
        "$ssl_client_fingerprint, SHA-1 hex).",
    )
    result_client_cert_fingerprints: list[str] = Field(
        default_factory=list,
        description="If set, the fingerprint must be one of these (hex, ':' ignored).",
    )
    ca_file: Path | None = Field(
        None,
        description="PEM bundle of the CAs trusted for the gateway's TLS certificate; unset: "
        "the system store (or SSL_CERT_FILE).",
    )
    insecure_allow_http: bool = Field(
        False, description="Allow a plain-http non-loopback api_base_url (never in production)."
    )

    @model_validator(mode="after")
    def _check(self) -> IAMSmartConfig:
        if self.encipherment_key_file is None and self.encipherment_key_pem is None:
            raise ValueError("set encipherment_key_file or encipherment_key_pem")
        url = self.api_base_url
        if not url.startswith("https://") and not (
            url.startswith("http://")
            and (is_loopback_host(urlsplit(url).hostname or "") or self.insecure_allow_http)
        ):
            raise ValueError("api_base_url must be https (http only on loopback)")
        if not set(self.scopes) >= {"eidapi_auth"}:
            raise ValueError("scopes must include eidapi_auth")
        return self

    @cached_property
    def private_key(self) -> rsa.RSAPrivateKey:
        """The encipherment private key (loaded once)."""
        if self.encipherment_key_file is not None:
            pem = self.encipherment_key_file.read_bytes()
        else:
            assert self.encipherment_key_pem is not None
            pem = self.encipherment_key_pem.get_secret_value().encode()
        password = self.encipherment_key_password
        return load_private_key(pem, password.get_secret_value().encode() if password else None)

    @property
    def results_uri(self) -> str:
        """Where profile/e-ME results are posted."""
        return self.result_callback_uri or self.redirect_uri
