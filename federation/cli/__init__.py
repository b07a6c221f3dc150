"""The ``idbridge`` command line (DESIGN §7).

Each sub-command lives in its own module and is imported only when used, so that
``idbridge --help`` and the integrator tools start fast. Top layer: may import anything.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

_COMMANDS: dict[str, str] = {
    "serve": "federation.cli.serve:serve",
    "demo": "federation.cli.serve:demo",
    "keys": "federation.cli.keys:keys",
    "jwt": "federation.cli.jwt:jwt",
    "iamsmart-sim": "federation.cli.iamsmart_sim:iamsmart_sim",
    "mappings": "federation.cli.mappings:mappings",
    "audit": "federation.cli.audit:audit",
    "operator": "federation.cli.operator:operator",
    "clients": "federation.cli.clients:clients",
}


class _LazyGroup(click.Group):
    """A click group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in _COMMANDS if self._load(name) is not None)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        target = _COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # not written yet
                return None
            raise
        return getattr(module, attr)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="idbridge")
def main() -> None:
    """idbridge: iAM Smart → Guangdong identity federation bridge."""
