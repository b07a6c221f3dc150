"""Production checks: a bridge with an ``https://`` issuer refuses to start on the demo's
configuration (issue 24; ``docs/sessions.md`` "Production checks").

With an https issuer, each of these is a problem, named by its setting:

- a simulator-only setting of the upstream connector (``approval_url_template``,
  ``insecure_allow_http``);
- a non-https upstream URL (``api_base_url``, ``redirect_uri``, ``result_callback_uri``);
- an encipherment key whose public-key fingerprint (SHA-256 of the SubjectPublicKeyInfo)
  is one of the demo keys shipped in this repository (``connectors/**/DEMO-ONLY-*.pem``),
  or the simulator's public demo ``client_secret``;
- ``IDBRIDGE_BACKCHANNEL_ALLOW_PRIVATE_NETWORKS`` (logout tokens to loopback and private
  addresses: the demo's and tests' relying parties).

``IDBRIDGE_ALLOW_DEVELOPMENT_CONFIG=true`` (``idbridge serve --development``) starts anyway
and logs a warning naming each problem on every start. A plain-http issuer is the demo:
nothing is checked. Layer 4 (reads the connectors' configuration and the settings).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import serialization

from federation.journey.upstreams import connector_config
from federation.oidc.config import OidcConfig
from federation.settings import Settings

log = logging.getLogger("idbridge.production")

REPOSITORY = Path(__file__).resolve().parent.parent
DEMO_KEY_GLOB = "connectors/**/DEMO-ONLY-*.pem"
DEMO_CLIENTS = REPOSITORY / "connectors/iamsmart/simulator/clients.demo.yaml"
SIMULATOR_ONLY = ("approval_url_template", "insecure_allow_http")
HTTPS_URLS = ("api_base_url", "redirect_uri", "result_callback_uri")


class DevelopmentConfiguration(RuntimeError):
    """An https bridge configured with demo or simulator settings (each named)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            "refusing to start with an https issuer on a development configuration:\n"
            + "\n".join(f"  - {p}" for p in problems)
            + "\nfix each setting, or set IDBRIDGE_ALLOW_DEVELOPMENT_CONFIG=true "
            "(idbridge serve --development) for a test deployment"
        )


def _fingerprint(public_key: Any) -> str:
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def demo_key_fingerprints(root: Path = REPOSITORY) -> frozenset[str]:
    """Fingerprints of every demo key (private or public PEM) shipped in the repository."""
    found = set()
    for path in sorted(root.glob(DEMO_KEY_GLOB)):
        pem = path.read_bytes()
        try:
            if b"PRIVATE KEY" in pem:
                key = serialization.load_pem_private_key(pem, password=None).public_key()
            else:
                key = serialization.load_pem_public_key(pem)
        except (ValueError, TypeError):
            continue
        found.add(_fingerprint(key))
    return frozenset(found)


def _demo_secrets() -> frozenset[str]:
    try:
        document = yaml.safe_load(DEMO_CLIENTS.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return frozenset()
    clients = document.get("clients") or []
    return frozenset(str(c["client_secret"]) for c in clients if c.get("client_secret"))


def _secret(value: Any) -> str:
    return str(value.get_secret_value() if hasattr(value, "get_secret_value") else value)


def connector_problems(config: Mapping[str, Any]) -> list[str]:
    """What in one connector's configuration (``{"type": ..., ...}``) is for the demo."""
    values = dict(config)
    if values.get("type") == "iamsmart":
        from connectors.iamsmart.config import IAMSmartConfig

        try:  # with the IDBRIDGE_IAMSMART_* environment, as the connector will see it
            model = IAMSmartConfig(**{k: v for k, v in values.items() if k != "type"})
        except ValueError:
            model = None  # the connector itself reports a bad configuration at start
        if model is not None:
            values = {**model.model_dump(), "_key": model}
    prefix = f"connector {values.get('id') or values.get('type')}"
    problems = [
        f"{prefix}: {name} is a simulator-only setting"
        for name in SIMULATOR_ONLY
        if values.get(name)
    ]
    problems += [
        f"{prefix}: {name} is not https ({values[name]})"
        for name in HTTPS_URLS
        if values.get(name) and not str(values[name]).startswith("https://")
    ]
    if values.get("client_secret") and _secret(values["client_secret"]) in _demo_secrets():
        problems.append(f"{prefix}: client_secret is the simulator's public demo secret")
    model = values.get("_key")
    if model is not None:
        try:
            fingerprint = _fingerprint(model.private_key.public_key())
        except Exception:  # unreadable key: the connector reports it at start
            fingerprint = ""
        if fingerprint in demo_key_fingerprints():
            file = values.get("encipherment_key_file")
            name = "encipherment_key_file" if file else "encipherment_key_pem"
            problems.append(f"{prefix}: {name} is a demo key shipped in the repository")
    return problems


def production_problems(settings: Settings) -> list[str]:
    """Every development-only setting of a bridge with an https issuer (empty for an http
    issuer: the demo)."""
    if not settings.issuer.startswith("https://"):
        return []
    problems: list[str] = []
    try:
        config = connector_config(settings)
    except ValueError:
        config = None  # the app factory reports an unreadable connectors file
    if config:
        problems += connector_problems(config)
    if OidcConfig().backchannel_allow_private_networks:
        problems.append(
            "IDBRIDGE_BACKCHANNEL_ALLOW_PRIVATE_NETWORKS is true (logout tokens to "
            "loopback and private addresses)"
        )
    return problems


def enforce(settings: Settings) -> list[str]:
    """Raise :class:`DevelopmentConfiguration` on any problem, unless
    ``IDBRIDGE_ALLOW_DEVELOPMENT_CONFIG`` is true: then log a warning naming each (on
    every start) and return them."""
    problems = production_problems(settings)
    if problems and not settings.allow_development_config:
        raise DevelopmentConfiguration(problems)
    for problem in problems:
        log.warning(
            "development configuration allowed behind an https issuer",
            extra={"fields": {"problem": problem}},
        )
    return problems


__all__ = [
    "DevelopmentConfiguration",
    "connector_problems",
    "demo_key_fingerprints",
    "enforce",
    "production_problems",
]
