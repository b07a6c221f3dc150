"""``idbridge serve`` and ``idbridge demo``."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import click
import uvicorn

from federation.serving import PROTOCOL_PATH, TIMEOUT_VARIABLE, slow_client_protocol
from federation.settings import Settings
from federation.storage.runtime import RedisServer


def check_notice_config(settings: Settings) -> None:
    """Refuse to serve without the operator (the data user the consent page must name,
    PDPO DPP1(3)); warn when no support contact is configured (error pages then cannot say
    whom to contact)."""
    from consent.notice import DataUser

    if settings.operator_file is None:
        raise click.UsageError(
            "IDBRIDGE_OPERATOR_FILE is not set: the consent page must name who runs the "
            "bridge (see deploy/operator.yaml.example)"
        )
    try:
        DataUser.load(settings.operator_file)
    except (OSError, ValueError) as exc:
        raise click.UsageError(f"IDBRIDGE_OPERATOR_FILE: {exc}") from exc
    if not (settings.support_email or settings.support_phone or settings.support_url):
        click.echo(
            "warning: no IDBRIDGE_SUPPORT_EMAIL/_PHONE/_URL: error pages will not say whom "
            "to contact",
            err=True,
        )


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to bind.")
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes.")
@click.option(
    "--embedded-redis",
    is_flag=True,
    help="Start a private redis-server (durable AOF) on loopback instead of IDBRIDGE_REDIS_URL.",
)
@click.option(
    "--development",
    is_flag=True,
    help="Start even though the issuer is https and simulator-only settings, a shipped demo "
    "key or a non-https upstream are configured (IDBRIDGE_ALLOW_DEVELOPMENT_CONFIG=true; "
    "a warning on every start). Never in production.",
)
def serve(host: str, port: int, workers: int, embedded_redis: bool, development: bool) -> None:
    """Run the bridge (uvicorn, the app factory). With an https issuer it refuses to start
    on a development configuration, naming each offending setting (docs/sessions.md).
    SIGTERM drains: the listener closes, and in-flight requests get
    ``IDBRIDGE_SHUTDOWN_GRACE`` seconds to finish."""
    from federation.production import DevelopmentConfiguration, enforce

    if development:
        os.environ["IDBRIDGE_ALLOW_DEVELOPMENT_CONFIG"] = "true"
    os.environ.setdefault("IDBRIDGE_ISSUER", f"http://{host}:{port}")
    try:
        settings = Settings()
        enforce(settings)
        check_notice_config(settings)
    except DevelopmentConfiguration as exc:
        raise click.ClickException(str(exc)) from exc
    server = RedisServer().start() if embedded_redis else None
    metrics_dir = _metrics_dir() if workers > 1 else None
    try:
        if server is not None:
            os.environ["IDBRIDGE_REDIS_URL"] = server.url
            click.echo(f"embedded redis: {server.url} (data in {server.data_dir})", err=True)
        settings = Settings()
        # spawned workers import the protocol by path and read its timeout from here
        os.environ[TIMEOUT_VARIABLE] = str(settings.slow_client_timeout)
        protocol = (
            PROTOCOL_PATH if workers > 1 else slow_client_protocol(settings.slow_client_timeout)
        )
        uvicorn.run(
            "federation.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            access_log=False,
            log_config=None,
            proxy_headers=settings.trust_proxy_headers,
            http=protocol,
            backlog=max(2048, settings.max_requests_in_flight * 2),
            timeout_graceful_shutdown=settings.shutdown_grace,
        )
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
        if server is not None:
            server.stop()


def _metrics_dir() -> str | None:
    """A fresh ``PROMETHEUS_MULTIPROC_DIR`` for this run's workers (spawned, they import
    ``prometheus_client`` afresh and inherit it), so ``/metrics`` merges every worker;
    ``None`` when the operator set one (theirs is kept, and they clear it between runs).
    One worker runs in this process, which imported the library already: no directory."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None
    folder = tempfile.mkdtemp(prefix="idbridge-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    return folder


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to bind.")
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=int,
    help="Bridge port P; the simulator gets P+1 and the demo e-service P+2.",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep keys, Redis data and logs here (default: a temp dir removed on exit).",
)
@click.option("--workers", default=1, show_default=True, type=int, help="Bridge workers.")
def demo(host: str, port: int, data_dir: Path | None, workers: int) -> None:
    """Run the whole journey locally: embedded Redis, the bridge, the iAM Smart simulator
    and a demo Guangdong e-service, all on loopback. Prints the URL to open first."""
    from federation.demo.stack import DemoError, DemoStack

    try:
        stack = DemoStack(host, port, data_dir=data_dir, bridge_workers=workers)
    except DemoError as exc:
        raise click.UsageError(str(exc)) from exc
    stopping: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        stopping.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        click.echo("idbridge demo: starting Redis, the simulator, the bridge, the e-service...")
        stack.start()
        ports = stack.ports
        click.echo(
            "\n"
            f"  Open this first:      {ports.service_url}/   (demo Guangdong e-service)\n"
            f"  Bridge (OIDC issuer): {ports.issuer}   "
            "(/.well-known/openid-configuration)\n"
            f"  iAM Smart simulator:  {ports.simulator_url}\n"
            f"  Logs: {stack.logs}\n\n"
            "  Press Ctrl-C to stop."
        )
        while not stopping:
            dead = stack.exited()
            if dead:
                click.echo(f"idbridge demo: {dead} stopped:\n{stack.log_tail(dead)}", err=True)
                raise SystemExit(1)
            time.sleep(0.2)
    except DemoError as exc:
        click.echo(f"idbridge demo: {exc}", err=True)
        raise SystemExit(1) from exc
    finally:
        click.echo("idbridge demo: stopping...", err=True)
        stack.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
