"""OpenSSL object handling for :mod:`.sm2_openssl`: loading and writing SM2 keys, and the
per-key :class:`Handle` that owns an ``EVP_PKEY`` with its pooled and template contexts.

Everything allocated here is freed here: contexts after use or by the key's finalizer.
"""

from __future__ import annotations

import base64
import ctypes
import threading
import weakref
from ctypes import byref, c_char_p, c_size_t

from . import _libcrypto as L
from .sm2_curve import point_from_bytes

SM2_ALGID = bytes.fromhex("301306072a8648ce3d020106082a811ccf5501822d")
SPKI_PREFIX = b"\x30\x59" + SM2_ALGID + b"\x03\x42\x00"
MAX_DER_SIG = 80
_POOL_SIZE = 8


def _free_pkey(
    pkey: int, pools: list[list[int]], templates: dict[tuple[bytes, bool], tuple[int, int]]
) -> None:
    lib = L.lib
    for pool in pools:
        while pool:
            lib.EVP_PKEY_CTX_free(pool.pop())
    for mctx, pctx in templates.values():
        lib.EVP_MD_CTX_free(mctx)
        lib.EVP_PKEY_CTX_free(pctx)
    templates.clear()
    lib.EVP_PKEY_free(pkey)


def pkey_from_der(der: bytes, private: bool) -> int:
    lib = L.require()
    cursor = c_char_p(der)
    loader = lib.d2i_AutoPrivateKey if private else lib.d2i_PUBKEY
    pkey = loader(None, byref(cursor), len(der))
    if not pkey:
        raise L.fail("loading SM2 key")
    return pkey


def pkey_from_pem(pem: bytes, private: bool) -> int:
    lib = L.require()
    if b"ENCRYPTED" in pem:
        raise ValueError("encrypted PEM keys are not supported")
    bio = lib.BIO_new_mem_buf(pem, len(pem))
    if not bio:
        raise L.fail("BIO_new_mem_buf")
    try:
        reader = lib.PEM_read_bio_PrivateKey if private else lib.PEM_read_bio_PUBKEY
        pkey = reader(bio, None, None, b"")  # empty passphrase: never prompt on a tty
    finally:
        lib.BIO_free(bio)
    if not pkey:
        raise ValueError(f"not a valid SM2 PEM: {L.drain_errors() or 'unreadable'}")
    if lib.EVP_PKEY_is_a(pkey, b"SM2") != 1:
        lib.EVP_PKEY_free(pkey)
        raise ValueError("PEM key is not an SM2 key")
    return pkey


def pem_of(pkey: int, private: bool) -> bytes:
    lib = L.require()
    bio = lib.BIO_new(lib.BIO_s_mem())
    if not bio:
        raise L.fail("BIO_new")
    try:
        if private:
            ok = lib.PEM_write_bio_PKCS8PrivateKey(bio, pkey, None, None, 0, None, None)
        else:
            ok = lib.PEM_write_bio_PUBKEY(bio, pkey)
        if ok != 1:
            raise L.fail("writing PEM")
        return L.read_bio(bio)
    finally:
        lib.BIO_free(bio)


def spki_point_without_openssl(pem: bytes) -> bytes:
    """The 65-byte point of an SM2 SPKI PEM, parsed here (fallback when no libcrypto)."""
    body = b"".join(line for line in pem.strip().splitlines() if not line.startswith(b"-----"))
    try:
        der = base64.b64decode(body, validate=True)
    except ValueError as exc:
        raise ValueError("not a valid SM2 PEM") from exc
    if len(der) != len(SPKI_PREFIX) + 65 or not der.startswith(SPKI_PREFIX):
        raise ValueError("not an SM2 SubjectPublicKeyInfo")
    return der[len(SPKI_PREFIX) :]


def public_point(pkey: int) -> tuple[int, int]:
    lib = L.require()
    buf = ctypes.create_string_buffer(65)
    size = c_size_t(0)
    if lib.EVP_PKEY_get_octet_string_param(pkey, b"encoded-pub-key", buf, 65, byref(size)) != 1:
        raise L.fail("reading SM2 public key")
    return point_from_bytes(buf.raw[: size.value])


class Handle:
    """Owns one EVP_PKEY and pools of initialised sign/verify contexts for it."""

    def __init__(self, pkey: int) -> None:
        self.pkey = pkey
        self.sign_pool: list[int] = []
        self.verify_pool: list[int] = []
        self.templates: dict[tuple[bytes, bool], tuple[int, int]] = {}
        self._lock = threading.Lock()
        self._finalizer = weakref.finalize(
            self, _free_pkey, pkey, [self.sign_pool, self.verify_pool], self.templates
        )

    def acquire(self, pool: list[int], init_name: str) -> int:
        try:
            return pool.pop()  # list.pop is atomic under the GIL: one thread per ctx
        except IndexError:
            pass
        lib = L.lib
        ctx = lib.EVP_PKEY_CTX_new(self.pkey, None)
        if not ctx:
            raise L.fail("EVP_PKEY_CTX_new")
        if getattr(lib, init_name)(ctx) != 1:
            lib.EVP_PKEY_CTX_free(ctx)
            raise L.fail(init_name)
        return ctx

    def release(self, pool: list[int], ctx: int, healthy: bool) -> None:
        if healthy and len(pool) < _POOL_SIZE:
            pool.append(ctx)
        else:
            L.lib.EVP_PKEY_CTX_free(ctx)

    def digest_ctx(self, uid: bytes, verify: bool) -> int:
        """A copy of the cached template EVP_MD_CTX (SM3, distid ``uid``) for one operation.

        The template is initialised once (``EVP_PKEY_CTX_set1_id`` then
        ``EVP_Digest{Sign,Verify}Init``) and only read afterwards; each copy owns a
        duplicate of the template's EVP_PKEY_CTX and is freed by the caller.
        """
        lib = L.lib
        template = self.templates.get((uid, verify))
        if template is None:
            with self._lock:
                template = self.templates.get((uid, verify)) or self._new_template(uid, verify)
                self.templates[(uid, verify)] = template
        copy = lib.EVP_MD_CTX_new()
        if not copy or lib.EVP_MD_CTX_copy_ex(copy, template[0]) != 1:
            lib.EVP_MD_CTX_free(copy)
            raise L.fail("EVP_MD_CTX_copy_ex")
        return copy

    def _new_template(self, uid: bytes, verify: bool) -> tuple[int, int]:
        lib = L.lib
        mctx = lib.EVP_MD_CTX_new()
        pctx = lib.EVP_PKEY_CTX_new(self.pkey, None)
        try:
            if not mctx or not pctx:
                raise L.fail("EVP_MD_CTX_new")
            if lib.EVP_PKEY_CTX_set1_id(pctx, uid, len(uid)) <= 0:
                raise L.fail("EVP_PKEY_CTX_set1_id")
            lib.EVP_MD_CTX_set_pkey_ctx(mctx, pctx)  # mctx does not own pctx
            init = lib.EVP_DigestVerifyInit if verify else lib.EVP_DigestSignInit
            if init(mctx, None, lib.EVP_sm3(), None, self.pkey) != 1:
                raise L.fail("EVP_DigestInit")
        except BaseException:
            lib.EVP_MD_CTX_free(mctx)
            lib.EVP_PKEY_CTX_free(pctx)
            raise
        return mctx, pctx
