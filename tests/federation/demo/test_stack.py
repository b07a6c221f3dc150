"""The demo launcher: configuration for any port, loopback only, and ``idbridge demo``
started as a real process, answering, then stopped by Ctrl-C (SIGINT) and by SIGTERM
with nothing left behind (no child process, no temp directory)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from federation.demo.stack import (
    DemoError,
    DemoPorts,
    check_loopback,
    free_port_block,
    write_configs,
)
from federation.oidc.clients import load_static_clients


def test_configs_follow_the_ports(tmp_path: Path) -> None:
    ports = DemoPorts("127.0.0.1", 23400)
    paths = write_configs(ports, tmp_path)
    client = load_static_clients(paths["clients"])["gd-demo-eservice"]
    assert client.redirect_uris == ("http://127.0.0.1:23402/callback",)
    assert client.backchannel_logout_uri == "http://127.0.0.1:23402/backchannel-logout"
    assert client.id_token_signed_response_alg == "SM2SM3"
    connector = yaml.safe_load(paths["connectors"].read_text())["connectors"][0]
    assert connector["api_base_url"] == "http://127.0.0.1:23401"
    assert connector["redirect_uri"] == "http://127.0.0.1:23400/upstream/iamsmart/callback"
    assert Path(connector["encipherment_key_file"]).is_file()
    sim = yaml.safe_load(paths["sim-clients"].read_text())["clients"][0]
    assert connector["redirect_uri"] in sim["redirect_uris"]
    assert Path(sim["encipherment_key_file"]).is_file()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.org", "::"])
def test_the_demo_refuses_non_loopback_hosts(host: str) -> None:
    with pytest.raises(DemoError, match="loopback"):
        check_loopback(host)


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            child = int(entry.name)
            found |= {child} | _descendants(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_idbridge_demo_runs_and_stops_cleanly(stop_signal: signal.Signals) -> None:
    port = free_port_block()
    cli = [sys.executable, "-c", "from federation.cli import main; main()"]
    demo = subprocess.Popen(
        [*cli, "demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = demo.stdout.readline() if demo.stdout else ""
            lines.append(line)
            if "Press Ctrl-C" in line or not line:
                break
        output = "".join(lines)
        assert f"Open this first:      http://127.0.0.1:{port + 2}/" in output, output
        assert f"http://127.0.0.1:{port}" in output and f"http://127.0.0.1:{port + 1}" in output
        assert output.index(str(port + 2)) < output.index("Bridge")  # the e-service first
        logs = Path(output.split("Logs: ")[1].split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port + 2}/?lang=en") as home:
            assert b"Sign in with iAM Smart via idbridge" in home.read()
        children = _descendants(demo.pid)
        assert len(children) >= 4  # redis, simulator, bridge, e-service
        demo.send_signal(stop_signal)
        assert demo.wait(timeout=30) == 0
        time.sleep(0.2)
        assert [pid for pid in children if _alive(pid)] == []
        assert not logs.parent.exists()  # the temp data dir went too
    finally:
        if demo.poll() is None:
            os.kill(demo.pid, signal.SIGKILL)
            demo.wait()
