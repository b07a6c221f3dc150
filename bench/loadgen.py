"""A small, cheap HTTP/1.1 load generator for the benchmarks in ``bench/`` (loopback only).

Why not httpx: a full brokered login is ~10 requests, and httpx costs ~0.3 ms of CPU per
request, which would make the load generator the bottleneck on a 2-core machine. This
client is plain asyncio streams with keep-alive pools, Content-Length and chunked bodies,
and nothing else (no TLS, no redirects, no cookie jar: the callers handle those).

Also: CPU and RSS of processes from ``/proc`` (utime+stime, VmRSS), and percentiles.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Response:
    status: int
    headers: dict[str, list[str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.headers.get(name)
        return values[0] if values else None


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def exchange(self, raw: bytes) -> tuple[Response, bool]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, list[str]] = defaultdict(list)
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()].append(value.strip())
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"][0]))
        elif headers.get("transfer-encoding", [""])[0].lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            body = b"".join(parts)
        else:
            body = b""
        keep = headers.get("connection", [""])[0].lower() != "close"
        return Response(status, dict(headers), body), keep


@dataclass
class Client:
    """Keep-alive connection pools per ``host:port``."""

    pools: dict[tuple[str, int], list[_Conn]] = field(default_factory=lambda: defaultdict(list))

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> Response:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host}:{port}"]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        pool = self.pools[(host, port)]
        for attempt in (0, 1):
            conn = pool.pop() if pool and not attempt else None  # the retry dials anew
            fresh = conn is None
            if conn is None:
                conn = _Conn(*await asyncio.open_connection(host, port))
            try:
                response, keep = await conn.exchange(raw)
            except (asyncio.IncompleteReadError, ConnectionError):
                conn.writer.close()
                if fresh or attempt:
                    raise
                continue  # a pooled connection the server had closed: retry once
            if keep:
                pool.append(conn)
            else:
                conn.writer.close()
            return response
        raise ConnectionError("unreachable")

    def close(self) -> None:
        for pool in self.pools.values():
            for conn in pool:
                conn.writer.close()
        self.pools.clear()


# --- processes ------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (seconds), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` in MB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    """Direct children of ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")


def self_cpu() -> float:
    """CPU seconds of this process (the load generator)."""
    t = os.times()
    return t.user + t.system


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# --- results ---------------------------------------------------------------------------------
@dataclass
class Stats:
    """Latencies (seconds) per operation and per bridge step; error kinds; pages seen."""

    ops: list[float] = field(default_factory=list)
    steps: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    consent_pages: int = 0


def report(
    label: str,
    stats: Stats,
    wall: float,
    cpu: dict[str, float],
    rss: list[float],
    steps: bool = True,
) -> float:
    done = len(stats.ops)
    rate = done / wall if wall else 0.0
    ms = 1000 / done if done else float("nan")
    print(
        f"  {label}: {done} ok, {sum(stats.errors.values())} errors in {wall:.1f}s = "
        f"{rate:,.0f}/s; latency p50 {percentile(stats.ops, 50) * 1000:.1f} ms, "
        f"p99 {percentile(stats.ops, 99) * 1000:.1f} ms"
    )
    print(
        f"    CPU per op: bridge {cpu['bridge'] * ms:.2f} ms, simulator "
        f"{cpu['simulator'] * ms:.2f} ms, redis {cpu['redis'] * ms:.2f} ms, load generator "
        f"{cpu['loadgen'] * ms:.2f} ms | load generator used {cpu['loadgen'] / wall:.0%} of a "
        f"core, bridge {cpu['bridge'] / wall:.0%}; RSS per worker "
        + ", ".join(f"{r:.0f} MB" for r in rss)
    )
    if stats.errors:
        print(f"    errors: {dict(stats.errors.most_common(4))}")
    if steps:
        print(
            "    bridge steps p50/p99 ms: "
            + "; ".join(
                f"{name} {percentile(v, 50) * 1000:.1f}/{percentile(v, 99) * 1000:.1f}"
                for name, v in stats.steps.items()
            )
        )
    return rate
