"""Fixtures for the mapping tests: the iAM Smart simulator personas as identity records.

The personas are the simulator's (``connectors/iamsmart/simulator/personas.yaml``), turned
into :class:`IdentityRecord` by the connector's own name translation, so the tests see
exactly what the journey will hand the mapping engine.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from connectors.iamsmart.attributes import attributes_from_iamsmart
from federation.identity import Assurance, IdentityRecord

ROOT = Path(__file__).resolve().parents[2]
PERSONAS_FILE = ROOT / "connectors" / "iamsmart" / "simulator" / "personas.yaml"
SALT = b"tests-mappings-pairwise-salt-32b"
TODAY = date(2026, 1, 1)


def load_personas() -> list[dict[str, Any]]:
    """The simulator's personas, as written."""
    return yaml.safe_load(PERSONAS_FILE.read_text(encoding="utf-8"))["personas"]


PERSONAS = load_personas()
PERSONA_IDS = [p["id"] for p in PERSONAS]


def identity_of(persona: dict[str, Any]) -> IdentityRecord:
    """The identity record the connector would build for ``persona``."""
    return IdentityRecord(
        upstream="iamsmart",
        subject=f"openid-{persona['id']}",
        assurance=Assurance.IAMSMART_PLUS if persona["user_type"] == "sign" else Assurance.IAMSMART,
        authenticated_at=1_767_225_600,
        attributes=attributes_from_iamsmart(persona.get("profile"), persona.get("eme")),
        attributes_version=persona.get("last_modified"),
    )


def permit_for(index: int) -> str:
    """A made-up Home Return Permit number per persona (what the person would type)."""
    return f"h{12345678 + index * 1_111_111:08d}"


@pytest.fixture(params=range(len(PERSONAS)), ids=PERSONA_IDS)
def persona_index(request: pytest.FixtureRequest) -> int:
    return request.param


@pytest.fixture
def chan() -> IdentityRecord:
    """CHAN Tai Man: every profile and e-ME field present."""
    return identity_of(PERSONAS[PERSONA_IDS.index("chan-tai-man")])
