"""``idbridge serve`` and ``idbridge demo``."""

from __future__ import annotations

import os

import click
import uvicorn

from federation.storage.runtime import RedisServer


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to bind.")
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes.")
@click.option(
    "--embedded-redis",
    is_flag=True,
    help="Start a private redis-server (durable AOF) on loopback instead of IDBRIDGE_REDIS_URL.",
)
def serve(host: str, port: int, workers: int, embedded_redis: bool) -> None:
    """Run the bridge (uvicorn, the app factory)."""
    server = RedisServer().start() if embedded_redis else None
    try:
        if server is not None:
            os.environ["IDBRIDGE_REDIS_URL"] = server.url
            click.echo(f"embedded redis: {server.url} (data in {server.data_dir})", err=True)
        os.environ.setdefault("IDBRIDGE_ISSUER", f"http://{host}:{port}")
        uvicorn.run(
            "federation.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            access_log=False,
            log_config=None,
            proxy_headers=os.environ.get("IDBRIDGE_TRUST_PROXY_HEADERS", "") in {"1", "true"},
        )
    finally:
        if server is not None:
            server.stop()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=int, help="Bridge port.")
def demo(host: str, port: int) -> None:
    """Run everything locally with an embedded Redis and print the URL to open."""
    with RedisServer() as server:
        os.environ["IDBRIDGE_REDIS_URL"] = server.url
        os.environ.setdefault("IDBRIDGE_ISSUER", f"http://{host}:{port}")
        click.echo(f"Open http://{host}:{port}/readyz", err=False)
        uvicorn.run(
            "federation.app:create_app",
            factory=True,
            host=host,
            port=port,
            access_log=False,
            log_config=None,
        )
