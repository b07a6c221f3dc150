"""A minimal ctypes binding to the system ``libcrypto.so.3`` (OpenSSL ≥ 3.0) for SM2.

Only the calls :mod:`.sm2_openssl` needs are declared, each with exact argument and result
types. Every failure drains the thread's OpenSSL error queue (``ERR_get_error``) into an
:class:`OpenSSLError`, so no stale error is left for the next caller. :data:`lib` is None
when no suitable libcrypto is found; :data:`load_error` then says why.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from ctypes import POINTER, c_char_p, c_int, c_long, c_size_t, c_ulong, c_void_p

MIN_VERSION = 0x30000000  # OpenSSL 3.0.0
_CANDIDATES = ("libcrypto.so.3", ctypes.util.find_library("crypto"))

c_void_pp = POINTER(c_void_p)


class OpenSSLError(RuntimeError):
    """An OpenSSL call failed; the message carries OpenSSL's first queued reason."""


class OpenSSLUnavailable(RuntimeError):
    """No libcrypto ≥ 3.0 could be loaded."""


# name: (restype, argtypes)
_PROTOTYPES: dict[str, tuple[object, list[object]]] = {
    "OpenSSL_version_num": (c_ulong, []),
    "ERR_get_error": (c_ulong, []),
    "ERR_error_string_n": (None, [c_ulong, c_char_p, c_size_t]),
    "ERR_clear_error": (None, []),
    "BIO_new_mem_buf": (c_void_p, [c_char_p, c_int]),
    "BIO_s_mem": (c_void_p, []),
    "BIO_new": (c_void_p, [c_void_p]),
    "BIO_free": (c_int, [c_void_p]),
    "BIO_read": (c_int, [c_void_p, c_char_p, c_int]),
    "BIO_ctrl": (c_long, [c_void_p, c_int, c_long, c_void_p]),
    "PEM_read_bio_PrivateKey": (c_void_p, [c_void_p, c_void_p, c_void_p, c_char_p]),
    "PEM_read_bio_PUBKEY": (c_void_p, [c_void_p, c_void_p, c_void_p, c_char_p]),
    "PEM_write_bio_PKCS8PrivateKey": (
        c_int,
        [c_void_p, c_void_p, c_void_p, c_char_p, c_int, c_void_p, c_void_p],
    ),
    "PEM_write_bio_PUBKEY": (c_int, [c_void_p, c_void_p]),
    "d2i_AutoPrivateKey": (c_void_p, [c_void_p, POINTER(c_char_p), c_long]),
    "d2i_PUBKEY": (c_void_p, [c_void_p, POINTER(c_char_p), c_long]),
    "EVP_PKEY_free": (None, [c_void_p]),
    "EVP_PKEY_is_a": (c_int, [c_void_p, c_char_p]),
    "EVP_PKEY_get_bn_param": (c_int, [c_void_p, c_char_p, c_void_pp]),
    "EVP_PKEY_get_octet_string_param": (
        c_int,
        [c_void_p, c_char_p, c_char_p, c_size_t, POINTER(c_size_t)],
    ),
    "BN_bn2binpad": (c_int, [c_void_p, c_char_p, c_int]),
    "BN_clear_free": (None, [c_void_p]),
    "EVP_PKEY_CTX_new": (c_void_p, [c_void_p, c_void_p]),
    "EVP_PKEY_CTX_new_from_name": (c_void_p, [c_void_p, c_char_p, c_char_p]),
    "EVP_PKEY_CTX_free": (None, [c_void_p]),
    "EVP_PKEY_CTX_set1_id": (c_int, [c_void_p, c_char_p, c_int]),
    "EVP_PKEY_keygen_init": (c_int, [c_void_p]),
    "EVP_PKEY_generate": (c_int, [c_void_p, c_void_pp]),
    "EVP_PKEY_public_check": (c_int, [c_void_p]),
    "EVP_PKEY_sign_init": (c_int, [c_void_p]),
    "EVP_PKEY_sign": (c_int, [c_void_p, c_char_p, POINTER(c_size_t), c_char_p, c_size_t]),
    "EVP_PKEY_verify_init": (c_int, [c_void_p]),
    "EVP_PKEY_verify": (c_int, [c_void_p, c_char_p, c_size_t, c_char_p, c_size_t]),
    "EVP_sm3": (c_void_p, []),
    "EVP_MD_CTX_new": (c_void_p, []),
    "EVP_MD_CTX_free": (None, [c_void_p]),
    "EVP_MD_CTX_set_pkey_ctx": (None, [c_void_p, c_void_p]),
    "EVP_MD_CTX_copy_ex": (c_int, [c_void_p, c_void_p]),
    "EVP_DigestSignInit": (c_int, [c_void_p, c_void_p, c_void_p, c_void_p, c_void_p]),
    "EVP_DigestSign": (c_int, [c_void_p, c_char_p, POINTER(c_size_t), c_char_p, c_size_t]),
    "EVP_DigestVerifyInit": (c_int, [c_void_p, c_void_p, c_void_p, c_void_p, c_void_p]),
    "EVP_DigestVerify": (c_int, [c_void_p, c_char_p, c_size_t, c_char_p, c_size_t]),
}


def _load() -> tuple[ctypes.CDLL | None, str | None]:
    reasons = []
    for name in _CANDIDATES:
        if not name:
            continue
        try:
            handle = ctypes.CDLL(name)
        except OSError as exc:
            reasons.append(f"{name}: {exc}")
            continue
        try:
            for fn_name, (restype, argtypes) in _PROTOTYPES.items():
                fn = getattr(handle, fn_name)
                fn.restype = restype
                fn.argtypes = argtypes
        except AttributeError as exc:
            reasons.append(f"{name}: {exc}")
            continue
        version = handle.OpenSSL_version_num()
        if version < MIN_VERSION:
            reasons.append(f"{name}: OpenSSL {version:#x} is older than 3.0")
            continue
        return handle, None
    return None, "; ".join(reasons) or "libcrypto not found"


lib, load_error = _load()


def require() -> ctypes.CDLL:
    """The loaded library, or :class:`OpenSSLUnavailable`."""
    if lib is None:
        raise OpenSSLUnavailable(f"SM2 needs libcrypto >= 3.0: {load_error}")
    return lib


def drain_errors() -> str:
    """Empty this thread's OpenSSL error queue; return the first reason (or '')."""
    if lib is None:
        return ""
    first = ""
    buf = ctypes.create_string_buffer(256)
    while code := lib.ERR_get_error():
        if not first:
            lib.ERR_error_string_n(code, buf, len(buf))
            first = buf.value.decode("ascii", "replace")
    return first


def fail(what: str) -> OpenSSLError:
    """Build an :class:`OpenSSLError` for ``what`` from (and clearing) the error queue."""
    reason = drain_errors()
    return OpenSSLError(f"{what} failed" + (f": {reason}" if reason else ""))


def read_bio(bio: int) -> bytes:
    """Everything pending in a memory BIO."""
    pending = lib.BIO_ctrl(bio, 10, 0, None)  # BIO_CTRL_PENDING
    buf = ctypes.create_string_buffer(pending)
    got = lib.BIO_read(bio, buf, pending)
    return buf.raw[: max(got, 0)]
