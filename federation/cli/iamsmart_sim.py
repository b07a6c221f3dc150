"""``idbridge iamsmart-sim``: run the iAM Smart sandbox simulator."""

from __future__ import annotations

from pathlib import Path

import click
import uvicorn

from connectors.iamsmart.simulator.app import create_app
from connectors.iamsmart.simulator.config import (
    DEFAULT_CLIENTS,
    DEFAULT_PERSONAS,
    SimulatorSettings,
)
from federation.logs import configure


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8001, show_default=True, type=int, help="Port to bind.")
@click.option(
    "--clients",
    "clients_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=DEFAULT_CLIENTS,
    show_default=True,
    help="Registered clients YAML (see clients.yaml.example).",
)
@click.option(
    "--personas",
    "personas_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=DEFAULT_PERSONAS,
    show_default=True,
    help="Test personas YAML.",
)
@click.option(
    "--public-url",
    default=None,
    help="The simulator's own base URL as browsers reach it (default http://HOST:PORT).",
)
@click.option(
    "--auto-approve",
    is_flag=True,
    help="Load tests: approve at once for the persona named by getQR's sim_persona parameter, "
    "and approve every profile/e-ME field without showing a page.",
)
@click.option(
    "--code-lifetime", default=60, show_default=True, type=int, help="Auth code lifetime (s)."
)
@click.option(
    "--timestamp-reorder-ms",
    default=0,
    show_default=True,
    type=click.IntRange(0, 60_000),
    envvar="IDBRIDGE_SIM_TIMESTAMP_REORDER_MS",
    help="Load tests only: accept a signed request whose timestamp is up to N ms lower than "
    "the client's previous one (0 = the published rule: never lower; D20004).",
)
@click.option(
    "--conformance",
    is_flag=True,
    help="Behave as the public specification describes where the default is lenient: "
    "getToken only encrypted, a login deny returns only state, auth codes with a raw '+', "
    "257-byte secretKeys, no browser redirect after an approval (docs/iamsmart.md).",
)
@click.option(
    "--login-deny",
    type=click.Choice(["", "D40001", "D20001", "state-only"]),
    default="",
    help="What a login deny returns (default D40001; state-only in conformance mode).",
)
def iamsmart_sim(
    host: str,
    port: int,
    clients_file: Path,
    personas_file: Path,
    public_url: str | None,
    auto_approve: bool,
    code_lifetime: int,
    timestamp_reorder_ms: int,
    conformance: bool,
    login_deny: str,
) -> None:
    """Run the strict iAM Smart simulator (state in this one process)."""
    configure("INFO")
    settings = SimulatorSettings(
        auto_approve=auto_approve,
        auth_code_lifetime_s=code_lifetime,
        timestamp_reorder_ms=timestamp_reorder_ms,
        conformance=conformance,
        login_deny=login_deny,
    )
    app = create_app(clients_file, personas_file, settings, public_url or f"http://{host}:{port}")
    click.echo(
        f"iAM Smart simulator on http://{host}:{port} (auto-approve: {auto_approve}, "
        f"timestamp reorder window: {timestamp_reorder_ms} ms, conformance: {conformance})"
    )
    uvicorn.run(app, host=host, port=port, access_log=False, log_config=None)
