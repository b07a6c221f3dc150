"""The simulator's inputs: registered clients, personas and settings.

Both files are YAML with commented examples beside this module (``clients.yaml.example``,
``personas.yaml``). ``clients.demo.yaml`` registers the demo bridge with a DEMO ONLY key
pair (``demo/``).
"""

from __future__ import annotations

import base64
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from connectors.iamsmart.crypto import RsaPadding, load_public_key

HERE = Path(__file__).parent
DEFAULT_PERSONAS = HERE / "personas.yaml"
DEFAULT_CLIENTS = HERE / "clients.demo.yaml"
KNOWN_SCOPES = frozenset(
    {
        "eidapi_auth",
        "eidapi_profiles",
        "eidapi_formFilling",
        "eidapi_sign",
        "eidapi_fr",
        "eidapi_bulksign",
        "eidapi_sua",
    }
)


class RegisteredClient(BaseModel):
    """One relying party registered with the (simulated) ESP."""

    model_config = ConfigDict(extra="forbid")

    client_id: str = Field(..., min_length=1, max_length=64)
    client_secret: SecretStr
    redirect_uris: list[str] = Field(..., min_length=1)
    allowed_scopes: list[str] = Field(default_factory=lambda: ["eidapi_auth"])
    encipherment_key_pem: str | None = None
    encipherment_key_file: Path | None = None
    rsa_padding: RsaPadding = "pkcs1v15"
    profile_api: bool = True
    """False: profile requests are refused as forbidden (D20012), as they may be for a
    non-government online service; the relying party should fall back to e-ME."""

    @model_validator(mode="after")
    def _check(self) -> RegisteredClient:
        unknown = set(self.allowed_scopes) - KNOWN_SCOPES
        if unknown:
            raise ValueError(f"unknown scopes {sorted(unknown)}")
        return self

    @cached_property
    def public_key_b64(self) -> str | None:
        """The KEK public key as Base64 DER (SubjectPublicKeyInfo): getKey's ``pubKey``."""
        if self.public_key is None:
            return None
        der = self.public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()

    @cached_property
    def public_key(self) -> rsa.RSAPublicKey | None:
        """The KEK public key (from a PEM public key or certificate), if registered."""
        if self.encipherment_key_pem:
            return load_public_key(self.encipherment_key_pem.encode())
        if self.encipherment_key_file:
            return load_public_key(self.encipherment_key_file.read_bytes())
        return None


class Persona(BaseModel):
    """One test person (see the header of ``personas.yaml``)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., pattern=r"^[a-z0-9-]{1,40}$")
    label: str
    user_type: Literal["default", "sign"]
    last_modified: str
    profile: dict[str, Any]
    eme: dict[str, Any] = Field(default_factory=dict)

    @property
    def last_modified_ms(self) -> int:
        """``lastModifiedDate`` as getToken sends it: a millisecond epoch number (SBX
        p.31: Long); ``personas.yaml`` writes it as ISO 8601 for people to read."""
        return int(datetime.fromisoformat(self.last_modified).timestamp() * 1000)

    def field(self, name: str) -> Any:
        """A profile or e-ME field value (``None`` if the person has none)."""
        if name in self.profile:
            return self.profile[name]
        return self.eme.get(name)


class SimulatorSettings(BaseModel):
    """Behaviour knobs (defaults follow the public facts)."""

    auth_code_lifetime_s: int = 60
    access_token_lifetime_ms: int = 14_400_000
    cek_lifetime_ms: int = 86_400_000
    timestamp_skew_ms: int = 300_000
    timestamp_reorder_ms: int = Field(0, ge=0, le=60_000)
    """0 (default): a timestamp lower than the client's previous one is refused (D20004), as
    published. N > 0: load tests only — accept one up to N ms lower (requests signed by
    several processes arrive out of order); the nonce check still refuses replays."""
    conformance: bool = False
    """Conformance mode (issue 23): behave as the public specification describes where
    the default mode is lenient — getToken only CEK-encrypted (plain JSON → D20003); a
    login deny returns only ``state``; auth codes carry a raw ``+``; a ``secretKey`` may
    carry a leading zero byte (257 bytes, as Java's BigInteger writes it); after a
    profile / e-ME approval the browser is not sent back (the person returns to it, as
    from the phone)."""
    login_deny: Literal["", "D40001", "D20001", "state-only"] = ""
    """What a login deny returns: D40001 (public C# constants), D20001 (the sandbox
    guide's example) or only ``state`` (the guide's text). Empty: D40001, or state-only
    in conformance mode."""
    login_window_s: int = 1080
    auto_approve: bool = False
    deliver_timeout_s: float = 10.0
    openid_secret: bytes = b""
    """HMAC key of the pairwise openIDs; random per start when empty."""


def _load_yaml(path: Path, key: str) -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    items = data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ValueError(f"{path}: expected a top-level list `{key}:`")
    return items


def load_clients(path: Path = DEFAULT_CLIENTS) -> dict[str, RegisteredClient]:
    """Registered clients by id; key files are resolved relative to the YAML file."""
    clients: dict[str, RegisteredClient] = {}
    for item in _load_yaml(path, "clients"):
        client = RegisteredClient(**item)
        if client.encipherment_key_file and not client.encipherment_key_file.is_absolute():
            client.encipherment_key_file = path.parent / client.encipherment_key_file
        client.public_key  # noqa: B018 (fail at start on a bad key)
        clients[client.client_id] = client
    return clients


def load_personas(path: Path = DEFAULT_PERSONAS) -> dict[str, Persona]:
    """Personas by id, in file order."""
    personas = [Persona(**item) for item in _load_yaml(path, "personas")]
    return {p.id: p for p in personas}
