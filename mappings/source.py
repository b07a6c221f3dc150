"""Read a YAML file and remember the line of every key, for errors that point at the line.

``yaml.safe_load`` forgets where things were; here the document is composed into nodes
first (their ``start_mark`` holds the line), then constructed, and every path from the root
(``("claims", "cn", "transform", 0)``) is mapped to its 1-based line. Duplicate keys are an
error (YAML allows the last to win silently, which hides mistakes in a profile).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mappings.errors import ProfileError

Path_ = tuple[str | int, ...]


class LocatedYaml:
    """A parsed YAML document and the line of each path in it."""

    def __init__(self, file: str | Path, data: Any, lines: dict[Path_, int]) -> None:
        self.file = str(file)
        self.data = data
        self.lines = lines

    def line_of(self, loc: tuple[Any, ...]) -> int | None:
        """The line of the deepest known prefix of ``loc`` (extra pydantic tags are skipped)."""
        path: Path_ = ()
        for part in loc:
            candidate = (*path, part)
            if candidate in self.lines:
                path = candidate
        return self.lines.get(path)

    def error(self, loc: tuple[Any, ...], reason: str) -> ProfileError:
        """A :class:`ProfileError` for ``loc`` in this file."""
        return ProfileError(self.file, self.line_of(loc), reason)


def _build(
    loader: yaml.SafeLoader, node: yaml.Node, path: Path_, lines: dict[Path_, int], file: str
) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int):
                raise ProfileError(file, key_node.start_mark.line + 1, "keys must be text")
            if key in result:
                raise ProfileError(file, key_node.start_mark.line + 1, f"duplicate key {key!r}")
            lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = _build(loader, value_node, (*path, key), lines, file)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(loader, item, (*path, index), lines, file)
            for index, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)


def load_located(file: str | Path) -> LocatedYaml:
    """Parse ``file``; :class:`ProfileError` with the line if it is unreadable or not YAML."""
    try:
        text = Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(file, None, f"cannot read the file: {exc.__class__.__name__}") from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        lines: dict[Path_, int] = {}
        data = _build(loader, node, (), lines, str(file)) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ProfileError(file, line, f"not valid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ProfileError(file, None, f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    return LocatedYaml(file, data, lines)
