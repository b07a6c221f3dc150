"""An https bridge refuses the demo's configuration (issue 24, ``federation.production``):
``idbridge serve`` and the app factory name each offending setting (simulator-only
settings, the shipped demo key and demo secret, a non-https upstream, private back-channel
networks); ``--development`` / ``IDBRIDGE_ALLOW_DEVELOPMENT_CONFIG`` starts anyway with a
warning on every start; a plain-http issuer (the demo) is not checked."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from federation.app import create_app
from federation.cli import main
from federation.production import (
    DevelopmentConfiguration,
    demo_key_fingerprints,
    production_problems,
)
from federation.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEMO_CONNECTORS = ROOT / "deploy/demo/connectors.yaml"
HTTPS = "https://bridge.example.hk"
NAMED = (
    "approval_url_template",
    "api_base_url",
    "redirect_uri",
    "encipherment_key_file",
    "client_secret",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "IDBRIDGE_ALLOW_DEVELOPMENT_CONFIG",
        "IDBRIDGE_BACKCHANNEL_ALLOW_PRIVATE_NETWORKS",
    ):
        monkeypatch.delenv(name, raising=False)


def _production_connectors(folder: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (folder / "key.pem").write_bytes(pem)
    entry = {
        "type": "iamsmart",
        "id": "iamsmart",
        "client_id": "gd-bridge",
        "client_secret": "a-real-secret-issued-by-the-esp-0123456789",
        "api_base_url": "https://apigw.iamsmart.gov.hk",
        "redirect_uri": HTTPS + "/upstream/iamsmart/callback",
        "encipherment_key_file": "key.pem",
    }
    path = folder / "connectors.yaml"
    path.write_text(yaml.safe_dump({"connectors": [entry]}), encoding="utf-8")
    return path


def test_the_shipped_demo_key_is_known() -> None:
    assert len(demo_key_fingerprints()) == 1  # private and public PEM: one key pair


def test_https_issuer_on_the_demo_connectors_names_each_setting() -> None:
    problems = production_problems(Settings(issuer=HTTPS, connectors_file=DEMO_CONNECTORS))
    text = "\n".join(problems)
    for name in NAMED:
        assert name in text, name
    assert production_problems(Settings(issuer="http://127.0.0.1:8000",
                                        connectors_file=DEMO_CONNECTORS)) == []  # fmt: skip


def test_a_production_configuration_passes(tmp_path: Path) -> None:
    settings = Settings(issuer=HTTPS, connectors_file=_production_connectors(tmp_path))
    assert production_problems(settings) == []


def test_private_backchannel_networks_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDBRIDGE_BACKCHANNEL_ALLOW_PRIVATE_NETWORKS", "true")
    settings = Settings(issuer=HTTPS, connectors_file=_production_connectors(tmp_path))
    (problem,) = production_problems(settings)
    assert "IDBRIDGE_BACKCHANNEL_ALLOW_PRIVATE_NETWORKS" in problem


def test_serve_refuses_to_start_and_names_each_setting(tmp_path: Path) -> None:
    env = {
        "IDBRIDGE_ISSUER": HTTPS,
        "IDBRIDGE_CONNECTORS_FILE": str(DEMO_CONNECTORS),
        "IDBRIDGE_REDIS_URL": "redis://127.0.0.1:1/0",  # never reached
        "IDBRIDGE_DATA_DIR": str(tmp_path),
    }
    result = CliRunner().invoke(main, ["serve", "--port", "1"], env=env)
    assert result.exit_code == 1, result.output
    for name in NAMED:
        assert name in result.output, name
    assert "--development" in result.output


def test_the_app_factory_refuses_and_the_development_flag_warns(tmp_path: Path) -> None:
    base = {"issuer": HTTPS, "connectors_file": DEMO_CONNECTORS, "data_dir": tmp_path}
    with pytest.raises(DevelopmentConfiguration) as refused:
        create_app(Settings(**base))
    assert "approval_url_template" in str(refused.value)
    seen: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = seen.append  # type: ignore[method-assign]
    logger = logging.getLogger("idbridge.production")
    logger.addHandler(handler)
    try:
        create_app(Settings(**base, allow_development_config=True))
        warned = len(seen)
        create_app(Settings(**base, allow_development_config=True))  # every start
    finally:
        logger.removeHandler(handler)
    assert warned == len(NAMED) and len(seen) == 2 * warned
    assert all(r.levelno == logging.WARNING for r in seen)
