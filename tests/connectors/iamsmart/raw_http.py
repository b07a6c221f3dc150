"""Test helpers for the lean HTTP/1.1 client: a raw asyncio server on 127.0.0.1 that answers
each request with exactly the bytes (or the behaviour) a test scripts, optionally over TLS,
and a throwaway CA + server certificate made with ``cryptography``."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

Behaviour = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
Reply = bytes | None | Behaviour
"""Bytes to send; ``None`` to hang up without an answer; or a coroutine that drives the
connection itself (drip, stall, reset)."""


def ok(body: bytes, extra: str = "") -> bytes:
    """A well-formed 200 with ``Content-Length`` and the ``extra`` header lines."""
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


@dataclass
class RawServer:
    """What the server saw and what it answers next (``answer(request) -> Reply``)."""

    answer: Callable[[bytes], Reply] = lambda _: ok(b'{"code":"D00000"}')
    close_after: bool = False
    port: int = 0
    scheme: str = "http"
    host: str = "127.0.0.1"
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)
    client_hangups: int = 0
    hung_up: asyncio.Event = field(default_factory=asyncio.Event)
    handlers: set[asyncio.Task[None]] = field(default_factory=set)
    writers: set[asyncio.StreamWriter] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}/api/x?y=1"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.add(writer)
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError as exc:
                    if not exc.partial:
                        self.client_hangups += 1
                        self.hung_up.set()
                    break
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                reply = self.answer(request)
                if reply is None:
                    break
                if isinstance(reply, bytes):
                    writer.write(reply)
                    await writer.drain()
                else:
                    await reply(reader, writer)
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        writer.close()


@asynccontextmanager
async def raw_server(
    server: RawServer | None = None, *, tls: ssl.SSLContext | None = None
) -> AsyncIterator[RawServer]:
    """Serve ``server`` on 127.0.0.1 (any free port) for the duration of the block."""
    state = server or RawServer()
    listener = await asyncio.start_server(state.handle, "127.0.0.1", 0, ssl=tls)
    state.port = listener.sockets[0].getsockname()[1]
    if tls is not None:
        state.scheme = "https"
    try:
        yield state
    finally:
        listener.close()
        for writer in state.writers:
            writer.close()
        running = [task for task in state.handlers if not task.done()]
        if running:
            await asyncio.wait(running, timeout=2)


def drip(data: bytes, every: float) -> Behaviour:
    """Send ``data`` one byte at a time, ``every`` seconds apart."""

    async def run(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for i in range(len(data)):
            writer.write(data[i : i + 1])
            await writer.drain()
            await asyncio.sleep(every)

    return run


def then(first: bytes, rest: Behaviour) -> Behaviour:
    """Send ``first`` at once, then behave as ``rest``."""

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(first)
        await rest(reader, writer)

    return run


def stall(data: bytes = b"") -> Behaviour:
    """Send ``data`` and then nothing more, until the client hangs up."""

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()
        await reader.read()

    return run


@dataclass(frozen=True)
class Tls:
    """A CA file for the client and a server context presenting a certificate it signed."""

    ca_file: Path
    server: ssl.SSLContext
    sni_seen: list[str | None]


def make_tls(
    folder: Path,
    *,
    names: tuple[str, ...] = ("localhost",),
    ips: tuple[str, ...] = ("127.0.0.1",),
    max_version: ssl.TLSVersion | None = None,
) -> Tls:
    """A fresh CA and a server certificate for ``names``/``ips`` (P-256, 1 day)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "idbridge test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    alt += [x509.IPAddress(ipaddress.ip_address(a)) for a in ips]
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, (names or ips)[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_file.write_bytes(ca.public_bytes(pem))
    cert_file.write_bytes(leaf.public_bytes(pem))
    key_file.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    if max_version is not None:
        server.set_ciphers("ALL:@SECLEVEL=0")
        server.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        server.maximum_version = max_version
    sni_seen: list[str | None] = []

    def remember(_sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        sni_seen.append(name)

    server.sni_callback = remember  # type: ignore[assignment]
    return Tls(ca_file, server, sni_seen)


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )
