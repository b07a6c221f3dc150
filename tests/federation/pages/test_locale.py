"""Locale negotiation: ui_locales, then the cookie, then Accept-Language; the switcher's
links keep the person where they are."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from federation.pages.locale import (
    DEFAULT_LOCALE,
    LOCALES,
    negotiate_locale,
    normalise_locale,
    url_with_lang,
)


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("zh-HK", "zh-HK"),
        ("zh-hk", "zh-HK"),
        ("zh_TW", "zh-HK"),
        ("zh-Hant", "zh-HK"),
        ("zh-Hant-TW", "zh-HK"),
        ("zh-MO", "zh-HK"),
        ("yue", "zh-HK"),
        ("zh", "zh-CN"),
        ("zh-CN", "zh-CN"),
        ("zh-Hans", "zh-CN"),
        ("zh-Hans-HK", "zh-CN"),
        ("zh-SG", "zh-CN"),
        ("en", "en"),
        ("en-GB", "en"),
        ("EN-us", "en"),
        ("fr", None),
        ("", None),
        (None, None),
        ("*", None),
    ],
)
def test_normalise_locale(tag: str | None, expected: str | None) -> None:
    assert normalise_locale(tag) == expected


def test_ui_locales_wins_over_cookie_and_header() -> None:
    assert negotiate_locale("en", "zh-CN", "zh-HK") == "en"


def test_first_supported_ui_locale_is_used() -> None:
    assert negotiate_locale("fr-CA de zh-Hans en", None, None) == "zh-CN"


def test_cookie_wins_over_header_when_no_ui_locales() -> None:
    assert negotiate_locale(None, "en", "zh-CN,zh;q=0.9") == "en"
    assert negotiate_locale("fr", "zh-CN", "en") == "zh-CN"


def test_bad_cookie_falls_through_to_header() -> None:
    assert negotiate_locale(None, "<script>", "en-US,en;q=0.9") == "en"


def test_accept_language_quality_order() -> None:
    assert negotiate_locale(None, None, "fr;q=1, en;q=0.5, zh-TW;q=0.8") == "zh-HK"
    assert negotiate_locale(None, None, "zh-CN;q=0, en;q=0.1") == "en"
    assert negotiate_locale(None, None, "de, fr;q=0.9") == DEFAULT_LOCALE


def test_default_is_traditional_chinese() -> None:
    assert negotiate_locale(None, None, None) == "zh-HK" == DEFAULT_LOCALE


def test_malformed_accept_language_does_not_raise() -> None:
    assert negotiate_locale(None, None, "en;q=abc, zh-CN;q=0.5") == "zh-CN"
    assert negotiate_locale(None, None, ";;;,,,q=1") == DEFAULT_LOCALE


@given(st.text(max_size=300), st.text(max_size=50), st.text(max_size=300))
def test_negotiation_always_gives_a_supported_locale(ui: str, cookie: str, header: str) -> None:
    assert negotiate_locale(ui, cookie, header) in LOCALES


def test_switcher_link_keeps_path_and_query() -> None:
    assert url_with_lang("/consent?x=1&y=%E4%B8%AD", "en") == "/consent?x=1&y=%E4%B8%AD&lang=en"
    assert url_with_lang("/consent?lang=zh-CN&x=1", "zh-HK") == "/consent?x=1&lang=zh-HK"
    assert url_with_lang("/", "zh-CN") == "/?lang=zh-CN"


def test_switcher_link_never_leaves_the_origin() -> None:
    for url in ("//evil.example/x", "///evil.example/x", "/\\evil.example"):
        link = url_with_lang(url, "en")
        assert link.startswith("/") and not link.startswith(("//", "/\\")), link
    assert url_with_lang("https://evil.example/x?a=1", "en") == "/x?a=1&lang=en"
