"""Message catalogues: the same keys and placeholders in every language, every key the
templates use exists, no words hard-coded in templates, and each Chinese catalogue is
written in its own script."""

from __future__ import annotations

import re
import string

import opencc
import pytest
from jinja2 import nodes

from federation.identity import Attr
from federation.pages.catalogue import MissingMessage, catalogues
from federation.pages.errors import ErrorKind
from federation.pages.locale import LOCALES
from federation.pages.render import TEMPLATES_DIR, make_environment

CATALOGUES = catalogues()


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_catalogue_has_exactly_the_same_keys() -> None:
    reference = set(CATALOGUES["en"].messages)
    assert len(reference) > 100
    for locale in LOCALES:
        keys = set(CATALOGUES[locale].messages)
        assert keys == reference, (
            f"{locale}: missing {sorted(reference - keys)}, extra {sorted(keys - reference)}"
        )


def test_placeholders_agree_across_languages() -> None:
    for key, english in CATALOGUES["en"].messages.items():
        for locale in ("zh-HK", "zh-CN"):
            assert _placeholders(CATALOGUES[locale].messages[key]) == _placeholders(english), (
                f"{locale} {key}"
            )


def test_no_message_is_empty() -> None:
    for locale in LOCALES:
        for key, text in CATALOGUES[locale].messages.items():
            assert text.strip(), f"{locale} {key} is empty"


def _template_calls() -> list[tuple[str, str]]:
    """(template, key) for every literal key passed to t() or optional_text()."""
    env = make_environment()
    found: list[tuple[str, str]] = []
    for path in sorted(TEMPLATES_DIR.glob("*.html")):
        tree = env.parse(path.read_text(encoding="utf-8"))
        for call in tree.find_all(nodes.Call):
            if isinstance(call.node, nodes.Name) and call.node.name in {"t", "optional_text"}:
                for arg in call.args:
                    if isinstance(arg, nodes.Const) and isinstance(arg.value, str):
                        found.append((path.name, arg.value))
    return found


def test_every_key_used_in_templates_exists() -> None:
    calls = _template_calls()
    assert len(calls) > 60
    for template, key in calls:
        for locale in LOCALES:
            assert CATALOGUES[locale].has(key), f"{template} uses {key!r}, missing in {locale}"


@pytest.mark.parametrize("locale", LOCALES)
def test_dynamic_keys_exist(locale: str) -> None:
    catalogue = CATALOGUES[locale]
    for kind in ErrorKind:
        for part in ("title", "what", "next"):
            assert catalogue.has(f"error.{kind.value}.{part}")
    for attr in Attr:
        assert catalogue.has(f"attr.{attr.value}"), attr
    assert catalogue.has("upstream.iamsmart")
    for supplied in (Attr.HOME_RETURN_PERMIT, Attr.RESIDENCE_PERMIT):
        assert catalogue.has(f"supplied.{supplied.value}.hint")
        assert catalogue.has(f"supplied.{supplied.value}.error")
    for other in LOCALES:
        slug = other.replace("-", "_").lower()
        assert catalogue.has(f"layout.lang_{slug}_short")


def test_missing_key_is_an_error_not_silence() -> None:
    with pytest.raises(MissingMessage):
        CATALOGUES["en"].text("no.such.key")


_JINJA = re.compile(r"\{%.*?%\}|\{\{.*?\}\}|\{#.*?#\}", re.S)
_TAGS = re.compile(r"<[^>]*>", re.S)
_ATTRIBUTE = re.compile(r"[\w-]+=\"[^\"]*\"")  # attributes added inside a block


def test_templates_hold_no_words() -> None:
    """All text comes from the catalogues: strip Jinja and tags, nothing readable is left."""
    for path in sorted(TEMPLATES_DIR.glob("*.html")):
        source = _JINJA.sub(" ", path.read_text(encoding="utf-8"))
        text = _ATTRIBUTE.sub(" ", _TAGS.sub(" ", source))
        leftovers = re.findall(r"[^\W\d_]+", text)
        assert leftovers == [], f"{path.name} has hard-coded text: {leftovers[:10]}"


# The language names in the switcher are each written in their own script on purpose.
_SCRIPT_EXEMPT = {"layout.lang_zh_hk_name", "layout.lang_zh_hk_short"}


_TO_HK = opencc.OpenCC("s2hk")
_TO_SIMPLIFIED = opencc.OpenCC("t2s")


def _simplified_only(char: str) -> bool:
    """Changed by Simplified→Traditional(HK) but not by Traditional→Simplified."""
    return _TO_HK.convert(char) != char and _TO_SIMPLIFIED.convert(char) == char


def _traditional_only(char: str) -> bool:
    return _TO_SIMPLIFIED.convert(char) != char and _TO_HK.convert(char) == char


def test_traditional_catalogue_is_in_traditional_script() -> None:
    for key, text in CATALOGUES["zh-HK"].messages.items():
        if key.startswith("layout.lang_zh_cn"):
            continue
        bad = sorted({char for char in text if _simplified_only(char)})
        assert bad == [], f"zh-HK {key} has Simplified characters {bad}: {text}"


def test_simplified_catalogue_is_in_simplified_script() -> None:
    for key, text in CATALOGUES["zh-CN"].messages.items():
        if key in _SCRIPT_EXEMPT:
            continue
        bad = sorted({char for char in text if _traditional_only(char)})
        assert bad == [], f"zh-CN {key} has Traditional characters {bad}: {text}"


def test_script_checks_catch_a_mixed_catalogue() -> None:
    assert any(_simplified_only(char) for char in "个人资料")
    assert any(_traditional_only(char) for char in "個人資料")


def test_hong_kong_wording() -> None:
    """Plain Hong Kong usage: 「」 quotes, 個人資料, 私隱-era terms rather than mainland ones."""
    # the Mainland law's own name is quoted as it is: 《個人信息保護法》
    hk = "".join(CATALOGUES["zh-HK"].messages.values()).replace("個人信息保護法", "")
    cn = "".join(CATALOGUES["zh-CN"].messages.values())
    assert "「同意」" in hk and "個人資料" in hk
    assert "个人信息" in cn and "“同意”" in cn
    for mainland_term in ("个人信息", "信息", "视频", "账户", "默认"):
        assert mainland_term not in hk
