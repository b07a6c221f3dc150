"""Message catalogues: every word a person reads, one YAML file per language.

``federation/pages/messages/<locale>.yaml`` holds nested keys; they are flattened to dotted
keys (``error.journey_expired.title``). Placeholders are ``{name}`` (``str.format_map``);
the values filled in are plain data and are HTML-escaped by the templates, never markup.
All catalogues must have exactly the same keys (a test checks it).

Standard library and PyYAML only.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from federation.pages.locale import LOCALES

MESSAGES_DIR = Path(__file__).with_name("messages")


class MissingMessage(KeyError):
    """A template or page asked for a key that the catalogue does not have."""


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, dotted + "."))
        elif isinstance(value, str):
            flat[dotted] = value
        else:
            raise ValueError(f"message {dotted!r} must be a string, not {type(value).__name__}")
    return flat


class Catalogue:
    """The messages of one language."""

    def __init__(self, locale: str, messages: Mapping[str, str]) -> None:
        self.locale = locale
        self.messages = dict(messages)

    def has(self, key: str) -> bool:
        """Whether ``key`` exists."""
        return key in self.messages

    def text(self, key: str, **params: object) -> str:
        """The message ``key`` with its ``{placeholders}`` filled from ``params``."""
        try:
            template = self.messages[key]
        except KeyError:
            raise MissingMessage(f"{self.locale}: no message {key!r}") from None
        if not params:
            return template
        return template.format_map({name: str(value) for name, value in params.items()})


def load_catalogue(path: Path, locale: str) -> Catalogue:
    """Read and flatten one catalogue file."""
    with path.open(encoding="utf-8") as handle:
        tree = yaml.safe_load(handle) or {}
    if not isinstance(tree, Mapping):
        raise ValueError(f"{path}: the top level must be a mapping")
    return Catalogue(locale, _flatten(tree))


@lru_cache(maxsize=4)
def catalogues(directory: Path = MESSAGES_DIR) -> dict[str, Catalogue]:
    """Every supported locale's catalogue, read once per process."""
    return {locale: load_catalogue(directory / f"{locale}.yaml", locale) for locale in LOCALES}
