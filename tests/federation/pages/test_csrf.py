"""CSRF tokens: bound to a journey, HMAC-SM3, expiring, and any malformed token is False."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from federation.crypto.sm3 import hmac_sm3
from federation.pages.csrf import check_csrf, csrf_secret_from_settings, issue_csrf
from federation.settings import Settings

SECRET = bytes(range(32))


def test_round_trip() -> None:
    token = issue_csrf("journey-1", secret=SECRET)
    assert token.startswith("v1.")
    assert check_csrf(token, "journey-1", secret=SECRET)


def test_token_is_hmac_sm3_of_binding_and_expiry() -> None:
    token = issue_csrf("journey-1", secret=SECRET, ttl_seconds=60, now=1_000)
    _, expiry, mac = token.split(".")
    assert expiry == "1060"
    expected = hmac_sm3(SECRET, b"idbridge-csrf-v1\x00journey-1\x001060")
    assert base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4)) == expected


def test_other_journey_is_refused() -> None:
    token = issue_csrf("journey-1", secret=SECRET)
    assert not check_csrf(token, "journey-2", secret=SECRET)
    assert not check_csrf(token, "", secret=SECRET)
    assert not check_csrf(token, None, secret=SECRET)


def test_other_secret_is_refused() -> None:
    token = issue_csrf("journey-1", secret=SECRET)
    assert not check_csrf(token, "journey-1", secret=b"another secret of 32 bytes......")


def test_expired_token_is_refused() -> None:
    token = issue_csrf("journey-1", secret=SECRET, ttl_seconds=60, now=1_000)
    assert check_csrf(token, "journey-1", secret=SECRET, now=1_059)
    assert not check_csrf(token, "journey-1", secret=SECRET, now=1_060)


def test_extending_the_expiry_breaks_the_mac() -> None:
    token = issue_csrf("journey-1", secret=SECRET, ttl_seconds=60, now=1_000)
    version, _, mac = token.split(".")
    forged = f"{version}.9999999999.{mac}"
    assert not check_csrf(forged, "journey-1", secret=SECRET, now=2_000)


def test_flipped_mac_is_refused() -> None:
    token = issue_csrf("journey-1", secret=SECRET)
    last = "A" if token[-1] != "A" else "B"
    assert not check_csrf(token[:-1] + last, "journey-1", secret=SECRET)


@given(st.text(max_size=200))
def test_garbage_is_false_never_an_exception(token: str) -> None:
    assert check_csrf(token, "journey-1", secret=SECRET) is False


def test_secret_from_settings_is_stable_across_workers() -> None:
    settings = Settings(pairwise_salt="a-shared-salt")
    assert csrf_secret_from_settings(settings) == csrf_secret_from_settings(settings)
    assert csrf_secret_from_settings(settings) != b"a-shared-salt"
    assert len(csrf_secret_from_settings(settings)) == 32
