""":class:`DemoStack`: the whole demo on loopback — an embedded durable Redis, the iAM Smart
simulator (port P+1), the bridge (port P) and the demo e-service (port P+2), each a uvicorn
server in its own child process.

The configuration files come from ``deploy/demo/`` (the bridge's clients and connector)
and the simulator's ``clients.demo.yaml``; they are written, with the addresses of this run,
into the data directory together with the bridge's generated keys and secrets. Children
get ``PR_SET_PDEATHSIG`` so that none outlives the launcher, their output goes to
``<data dir>/logs/<name>.log``, and :meth:`DemoStack.stop` terminates them (then kills what
is left), stops Redis and removes a temporary data directory.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from federation.demo.settings import DEMO_CLIENT_SECRET
from federation.storage.runtime import RedisRuntimeError, RedisServer

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy" / "demo"
SIM_CLIENTS = REPO / "connectors" / "iamsmart" / "simulator" / "clients.demo.yaml"
DEFAULT_PORT = 8000
_CLI = "from federation.cli import main; main()"


class DemoError(RuntimeError):
    """The demo could not start (bad host, busy port, a child that died)."""


def check_loopback(host: str) -> None:
    """The demo binds loopback only (http and demo secrets are accepted only there)."""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback and ":" not in host:
            return
    except ValueError:
        pass
    raise DemoError(f"the demo runs on loopback only (127.0.0.1 or localhost), not {host!r}")


@dataclass(frozen=True, slots=True)
class DemoPorts:
    """Where each part listens: bridge P, simulator P+1, e-service P+2."""

    host: str
    bridge: int

    @property
    def simulator(self) -> int:
        return self.bridge + 1

    @property
    def service(self) -> int:
        return self.bridge + 2

    def url(self, port: int) -> str:
        return f"http://{self.host}:{port}"

    @property
    def issuer(self) -> str:
        return self.url(self.bridge)

    @property
    def simulator_url(self) -> str:
        return self.url(self.simulator)

    @property
    def service_url(self) -> str:
        return self.url(self.service)


def _rewrite(value: Any, table: dict[str, str]) -> Any:
    """Replace the default demo origins in every string of a YAML document."""
    if isinstance(value, dict):
        return {k: _rewrite(v, table) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrite(v, table) for v in value]
    if isinstance(value, str):
        for old, new in table.items():
            value = value.replace(old, new)
    return value


def _origins(ports: DemoPorts) -> dict[str, str]:
    table = {}
    for offset, port in enumerate((ports.bridge, ports.simulator, ports.service)):
        for host in ("127.0.0.1", "localhost"):
            table[f"http://{host}:{DEFAULT_PORT + offset}"] = ports.url(port)
    return table


def write_configs(ports: DemoPorts, directory: Path) -> dict[str, Path]:
    """Write the bridge's clients and connectors files and the simulator's clients file
    for ``ports`` into ``directory``; return their paths by name."""
    table = _origins(ports)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    clients = _rewrite(yaml.safe_load((DEPLOY / "clients.yaml").read_text("utf-8")), table)
    connectors = _rewrite(yaml.safe_load((DEPLOY / "connectors.yaml").read_text("utf-8")), table)
    for entry in connectors["connectors"]:
        key = Path(entry["encipherment_key_file"])
        entry["encipherment_key_file"] = str(key if key.is_absolute() else (DEPLOY / key).resolve())
    sim = _rewrite(yaml.safe_load(SIM_CLIENTS.read_text("utf-8")), table)
    for entry in sim["clients"]:
        uris = entry["redirect_uris"]
        entry["redirect_uris"] = list(dict.fromkeys(uris))
        key = Path(entry["encipherment_key_file"])
        entry["encipherment_key_file"] = str((SIM_CLIENTS.parent / key).resolve())
    for name, document in (("clients", clients), ("connectors", connectors), ("sim-clients", sim)):
        paths[name] = directory / f"{name}.yaml"
        paths[name].write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return paths


def free_port_block(host: str = "127.0.0.1", count: int = 3, attempts: int = 200) -> int:
    """A port P such that P..P+count-1 were all free a moment ago (tests, benchmarks)."""
    for _ in range(attempts):
        base = secrets.randbelow(40_000) + 20_000
        try:
            with contextlib.ExitStack() as held:
                for port in range(base, base + count):
                    sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
                    sock.bind((host, port))
            return base
        except OSError:
            continue
    raise DemoError(f"no {count} consecutive free ports on {host}")


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - loopback
            return bool(response.status == 200)
    except OSError:
        return False


class DemoStack:
    """Start with :meth:`start` (or ``with DemoStack(...) as stack:``), stop with :meth:`stop`."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        data_dir: Path | None = None,
        bridge_workers: int = 1,
        auto_approve: bool = False,
        with_service: bool = True,
        log_level: str = "WARNING",
        extra_env: dict[str, str] | None = None,
        personas_file: Path | None = None,
    ) -> None:
        check_loopback(host)
        self.ports = DemoPorts(host, port)
        self._own_dir = data_dir is None
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="idbridge-demo-"))
        self.bridge_workers = bridge_workers
        self.auto_approve = auto_approve
        self.with_service = with_service
        self.log_level = log_level
        self.extra_env = extra_env or {}
        self.personas_file = personas_file
        """The simulator's test people (default: the shipped ``personas.yaml``)."""
        self.redis: RedisServer | None = None
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def logs(self) -> Path:
        """Directory of the children's logs."""
        return self.data_dir / "logs"

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        with (self.logs / f"{name}.log").open("ab") as out:
            self.processes[name] = subprocess.Popen(  # noqa: S603 - our own interpreter
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **env},
                cwd=REPO,
                preexec_fn=_die_with_parent,
            )

    def _wait_ready(self, name: str, url: str, deadline: float) -> None:
        process = self.processes[name]
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise DemoError(f"{name} exited with {process.returncode}: {self.log_tail(name)}")
            if _answers(url):
                return
            time.sleep(0.05)
        raise DemoError(f"{name} did not answer {url} in time: {self.log_tail(name)}")

    def log_tail(self, name: str, lines: int = 15) -> str:
        """The last lines of a child's log (for error messages)."""
        path = self.logs / f"{name}.log"
        text = path.read_text("utf-8", "replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def start(self, timeout: float = 60.0) -> DemoStack:
        """Start everything and wait until each part answers; on failure stop what started."""
        try:
            self._start(time.monotonic() + timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, deadline: float) -> None:
        ports = self.ports
        configs = write_configs(ports, self.data_dir / "config")
        (self.data_dir / "redis").mkdir(parents=True, exist_ok=True)
        try:
            self.redis = RedisServer(durable=True, data_dir=self.data_dir / "redis").start()
        except RedisRuntimeError as exc:
            raise DemoError(f"embedded Redis: {exc}") from exc
        python = sys.executable
        sim = [
            "-c",
            _CLI,
            "iamsmart-sim",
            "--host",
            ports.host,
            "--port",
            str(ports.simulator),
            "--clients",
            str(configs["sim-clients"]),
        ]
        if self.personas_file is not None:
            sim += ["--personas", str(self.personas_file)]
        if self.auto_approve:
            sim.append("--auto-approve")
        self._spawn("simulator", [python, *sim], {})
        self._spawn(
            "bridge",
            [
                python,
                "-c",
                _CLI,
                "serve",
                "--host",
                ports.host,
                "--port",
                str(ports.bridge),
                "--workers",
                str(self.bridge_workers),
            ],
            {
                "IDBRIDGE_ISSUER": ports.issuer,
                "IDBRIDGE_REDIS_URL": self.redis.url,
                "IDBRIDGE_DATA_DIR": str(self.data_dir / "bridge"),
                "IDBRIDGE_CLIENTS_FILE": str(configs["clients"]),
                "IDBRIDGE_CONNECTORS_FILE": str(configs["connectors"]),
                "IDBRIDGE_OPERATOR_FILE": str(DEPLOY / "operator.yaml"),
                "IDBRIDGE_DEMO_CLIENT_SECRET": DEMO_CLIENT_SECRET,
                "IDBRIDGE_LOG_LEVEL": self.log_level,
                # the demo e-service's back-channel logout endpoint is on loopback
                "IDBRIDGE_BACKCHANNEL_ALLOW_PRIVATE_NETWORKS": "true",
                **self.extra_env,
            },
        )
        if self.with_service:
            self._spawn(
                "e-service",
                [
                    python,
                    "-m",
                    "uvicorn",
                    "federation.demo.app:create_app",
                    "--factory",
                    "--host",
                    ports.host,
                    "--port",
                    str(ports.service),
                    "--no-access-log",
                    "--log-level",
                    self.log_level.lower(),
                ],
                {
                    "IDBRIDGE_DEMO_ISSUER": ports.issuer,
                    "IDBRIDGE_DEMO_PUBLIC_URL": ports.service_url,
                    "IDBRIDGE_DEMO_CLIENT_SECRET": DEMO_CLIENT_SECRET,
                },
            )
        self._wait_ready("simulator", ports.simulator_url + "/sim/static/sim.css", deadline)
        self._wait_ready("bridge", ports.issuer + "/readyz", deadline)
        if self.with_service:
            self._wait_ready("e-service", ports.service_url + "/healthz", deadline)

    def exited(self) -> str | None:
        """The name of a child that has exited, if any (the demo is then broken)."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                return name
        return None

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the children (e-service, bridge, simulator), then Redis; idempotent."""
        for process in reversed(list(self.processes.values())):
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=timeout)
        self.processes.clear()
        if self.redis is not None:
            self.redis.stop()
            self.redis = None
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> DemoStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
