"""SM2/SM3/SM4 cryptography and the SM2 JOSE algorithm (DESIGN §4).

Owns: SM3 and HMAC-SM3 (``sm3``), SM4-GCM (``sm4``), the SM2 curve and Z (``sm2_curve``),
SM2 through OpenSSL's libcrypto (``sm2_openssl`` over the ctypes binding ``_libcrypto``), a
pure-Python reference SM2 used as an oracle and verify fallback (``sm2_reference``), strict
DER and raw r‖s encodings (``encoding``), SM2 JWKs (``jwk_sm2``), the ``SM2SM3`` JOSE
algorithm, JWT encode/decode and JWKS import for joserfc (``jose``), the ``Signer`` protocol
(``signer``) and key sets with rotation (``keyset``). Public API: docs/crypto.md.

May import: the standard library, ``cryptography`` and ``joserfc``. Nothing else of ours,
so that this package could be published on its own.
"""
