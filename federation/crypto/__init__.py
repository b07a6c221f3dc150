"""SM2/SM3/SM4 cryptography and the SM2 JOSE algorithm (DESIGN §4).

Owns: SM3 and HMAC-SM3 (``sm3``), SM4-GCM (``sm4``), SM2 through OpenSSL's libcrypto
(``sm2_openssl``), a pure-Python reference SM2 used as an oracle and verify fallback
(``sm2_reference``), strict DER and raw r‖s encodings (``encoding``), the ``SM2SM3`` JOSE
algorithm and SM2 JWKs for joserfc (``jose``), and key sets with rotation (``keyset``).

May import: the standard library, ``cryptography`` and ``joserfc``. Nothing else of ours,
so that this package could be published on its own.
"""
