"""Strict DER and raw r‖s encodings, including property tests."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from federation.crypto.encoding import (
    EncodingError,
    der_decode_signature,
    der_encode_signature,
    der_to_raw,
    raw_decode_signature,
    raw_encode_signature,
    raw_to_der,
)

scalars = st.integers(min_value=0, max_value=2**256 - 1)


@given(scalars, scalars)
def test_der_round_trip(r: int, s: int) -> None:
    der = der_encode_signature(r, s)
    assert der_decode_signature(der) == (r, s)
    assert len(der) <= 72


@given(st.binary(min_size=64, max_size=64))
def test_raw_der_round_trip(raw: bytes) -> None:
    assert der_to_raw(raw_to_der(raw)) == raw


@given(st.binary(max_size=80))
def test_decoder_never_raises_anything_but_encoding_error(data: bytes) -> None:
    try:
        r, s = der_decode_signature(data)
    except EncodingError:
        return
    assert der_encode_signature(r, s) == data  # whatever decodes is canonical DER


def test_strictness() -> None:
    good = der_encode_signature(5, 7)
    assert good == bytes.fromhex("3006020105020107")
    for bad in [
        good + b"\x00",  # trailing byte
        bytes.fromhex("300702020005020107"),  # non-minimal r
        bytes.fromhex("3006020185020107"),  # negative r
        bytes.fromhex("30810602010502010700"),  # long-form length
        bytes.fromhex("3007020105020107"),  # length too long
        bytes.fromhex("3006020105030107"),  # not an INTEGER
        b"\x30\x23\x02\x21\x01" + b"\x00" * 32 + b"\x02\x01\x01"[:0],
    ]:
        with pytest.raises(EncodingError):
            der_decode_signature(bad)
    oversized = b"\x02\x21\x01" + b"\x00" * 32  # 2^256: more than 256 bits
    body = oversized + b"\x02\x01\x01"
    with pytest.raises(EncodingError):
        der_decode_signature(b"\x30" + bytes([len(body)]) + body)


@pytest.mark.parametrize("size", [0, 63, 65, 128])
def test_raw_must_be_exactly_64_bytes(size: int) -> None:
    with pytest.raises(EncodingError):
        raw_decode_signature(b"\x01" * size)


def test_raw_is_left_padded() -> None:
    raw = raw_encode_signature(1, 2)
    assert len(raw) == 64 and raw[31] == 1 and raw[63] == 2
    with pytest.raises(EncodingError):
        raw_encode_signature(2**256, 1)
