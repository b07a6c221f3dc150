"""Settings come from IDBRIDGE_* variables, and the shipped example documents every one:
every field of every ``IDBRIDGE_*`` settings model, and every ``IDBRIDGE_*`` name the code
reads, each under a comment line; and the example's active lines load."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from connectors.iamsmart.config import IAMSmartConfig
from federation.demo.settings import DemoServiceSettings
from federation.oidc.config import OidcConfig
from federation.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "deploy" / "idbridge.env.example"
PRODUCT = ("federation", "connectors", "consent", "mappings", "bench")
MODELS: tuple[type[BaseSettings], ...] = (
    Settings,
    OidcConfig,
    IAMSmartConfig,
    DemoServiceSettings,
)
_VARIABLE = re.compile(r"^(?:# )?(IDBRIDGE_[A-Z0-9_]+)=", flags=re.M)
_READ = re.compile(r"\bIDBRIDGE_[A-Z0-9_]*[A-Z0-9]\b")


def _env_names(model: type[BaseSettings]) -> set[str]:
    prefix = model.model_config.get("env_prefix", "")
    return {prefix + name.upper() for name in model.model_fields}


def _documented(text: str) -> set[str]:
    return set(_VARIABLE.findall(text))


def _sources(*tops: str) -> list[Path]:
    return sorted(p for top in tops for p in (ROOT / top).rglob("*.py"))


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDBRIDGE_ISSUER", "https://bridge.example.hk")
    monkeypatch.setenv("IDBRIDGE_PII_KEY", "00" * 16)
    settings = Settings()
    assert settings.issuer == "https://bridge.example.hk"
    assert settings.pii_key is not None
    assert "00" * 16 not in repr(settings)  # secrets never print


def test_every_idbridge_settings_model_is_checked() -> None:
    found = set()
    for path in _sources(*PRODUCT):
        text = path.read_text(encoding="utf-8")
        if re.search(r"env_prefix=\"IDBRIDGE_", text):
            found |= set(re.findall(r"^class (\w+)\(BaseSettings\)", text, flags=re.M))
    assert found == {model.__name__ for model in MODELS}


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_example_documents_every_field(model: type[BaseSettings]) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    missing = _env_names(model) - _documented(text)
    assert not missing, f"not in {EXAMPLE.name}: {sorted(missing)}"


def test_example_documents_every_variable_the_code_reads() -> None:
    read = set()
    for path in _sources(*PRODUCT):
        read |= set(_READ.findall(path.read_text(encoding="utf-8")))
    missing = read - _documented(EXAMPLE.read_text(encoding="utf-8"))
    assert not missing, f"read by the code, not in {EXAMPLE.name}: {sorted(missing)}"


def test_example_has_no_stale_variables() -> None:
    known = set().union(*(_env_names(model) for model in MODELS))
    for path in _sources(*PRODUCT, "tests"):
        known |= set(_READ.findall(path.read_text(encoding="utf-8")))
    stale = _documented(EXAMPLE.read_text(encoding="utf-8")) - known
    assert not stale, f"documented but never read: {sorted(stale)}"


def test_each_variable_has_a_comment_line() -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        if _VARIABLE.match(line + "\n"):
            above = lines[index - 1] if index else ""
            assert above.startswith("# ") and not _VARIABLE.match(above + "\n"), line


def test_example_active_lines_load(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("IDBRIDGE_")]:
        monkeypatch.delenv(name)
    text = EXAMPLE.read_text(encoding="utf-8")
    for name, value in re.findall(r"^(IDBRIDGE_[A-Z0-9_]+)=(.*)$", text, flags=re.M):
        monkeypatch.setenv(name, value)
    assert Settings().issuer.startswith("https://")
    config = OidcConfig()
    assert config.code_ttl <= 60 and config.client_secret_key is not None
    assert not config.client_secret_key  # empty: generated into the data dir
