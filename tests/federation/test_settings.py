"""Settings come from IDBRIDGE_* variables, and the shipped example documents every one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from federation.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "idbridge.env.example"


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDBRIDGE_ISSUER", "https://bridge.example.hk")
    monkeypatch.setenv("IDBRIDGE_PII_KEY", "00" * 16)
    settings = Settings()
    assert settings.issuer == "https://bridge.example.hk"
    assert settings.pii_key is not None
    assert "00" * 16 not in repr(settings)  # secrets never print


def test_example_documents_every_setting() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    documented = set(re.findall(r"^IDBRIDGE_([A-Z0-9_]+)=", text, flags=re.M))
    fields = {name.upper() for name in Settings.model_fields}
    assert fields == documented, f"missing: {fields - documented}, stale: {documented - fields}"
    for name in fields:  # each variable is preceded by a comment line
        block = text.split(f"IDBRIDGE_{name}=")[0].rstrip().splitlines()
        assert block and block[-1].startswith("#"), name
