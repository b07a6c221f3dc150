"""Which upstream the journey uses: ``IDBRIDGE_CONNECTORS_FILE`` (YAML, see
``deploy/connectors.yaml.example``), else the iAM Smart connector from its
``IDBRIDGE_IAMSMART_*`` variables, else none (logins end in ``temporarily_unavailable``).

Relative ``*_file`` paths in the YAML are resolved against the YAML file's directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from federation.settings import Settings


class ConnectorsFileError(ValueError):
    """The connectors file is unreadable or not shaped ``connectors: [{type: ...}, ...]``."""


def connector_config(settings: Settings) -> dict[str, Any] | None:
    """The first configured connector's config mapping (with ``type``), or ``None``."""
    path = settings.connectors_file
    if path is None:
        if os.environ.get("IDBRIDGE_IAMSMART_CLIENT_ID"):
            return {"type": "iamsmart"}
        return None
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConnectorsFileError(f"{path}: {exc}") from exc
    entries = document.get("connectors") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict):
        raise ConnectorsFileError(f"{path}: expected 'connectors:' with at least one entry")
    if "type" not in entries[0]:
        raise ConnectorsFileError(f"{path}: connector #0 has no 'type'")
    base = Path(path).resolve().parent
    return {
        key: str(base / value)
        if key.endswith("_file") and isinstance(value, str) and not Path(value).is_absolute()
        else value
        for key, value in entries[0].items()
    }
