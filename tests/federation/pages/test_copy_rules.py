"""Copy rules over the message catalogues (issue 18; PAGES.md "Language"): zh-CN in one
register (您) and one term (个人信息, not 资料), zh-HK with one spelling of 這裏, Chinese
lists joined with 「、」, English headings and labels in sentence case."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

MESSAGES = Path(__file__).parents[3] / "federation" / "pages" / "messages"
ORDINANCE = "《个人资料（私隐）条例》"
"""A statute's title is quoted as enacted (its own words, not ours)."""
CJK = r"[\u3400-\u9fff]"
LABEL_KEYS = re.compile(r"(title|heading|label|_link|manage|continue|agree|decline)$")
SMALL = {"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to", "with"}


def _texts(lang: str) -> Iterator[tuple[str, str]]:
    def walk(prefix: str, node: Any) -> Iterator[tuple[str, str]]:
        if isinstance(node, dict):
            for key, value in node.items():
                yield from walk(f"{prefix}.{key}" if prefix else str(key), value)
        elif isinstance(node, str):
            yield prefix, node

    yield from walk("", yaml.safe_load((MESSAGES / f"{lang}.yaml").read_text("utf-8")))


def test_zh_cn_one_register_and_one_term() -> None:
    for key, text in _texts("zh-CN"):
        assert "你" not in text, f"zh-CN {key}: use 您, not 你: {text}"
        assert "资料" not in text.replace(ORDINANCE, ""), f"zh-CN {key}: 个人信息: {text}"
        assert "「" not in text, f"zh-CN {key}: quote with “”: {text}"


def test_zh_hk_one_spelling() -> None:
    for key, text in _texts("zh-HK"):
        assert "這裡" not in text, f"zh-HK {key}: 這裏, not 這裡: {text}"


@pytest.mark.parametrize("lang", ["zh-HK", "zh-CN"])
def test_chinese_lists_use_the_enumeration_comma(lang: str) -> None:
    texts = dict(_texts(lang))
    assert texts["consent.list_separator"] == "、"
    for key, text in texts.items():
        assert not re.search(CJK + r", ?" + CJK, text), f"{lang} {key}: join with 、: {text}"


def _title_case(text: str) -> bool:
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z'’-]*", re.sub(r"\{[^}]*\}", "", text))]
    words = [w for w in words if w.lower() not in SMALL]
    if len(words) < 2:
        return False
    return all(w[0].isupper() for w in words[1:])


def test_english_labels_in_sentence_case() -> None:
    names = {"iAM", "Smart", "Guangdong", "Mainland", "China", "Hong", "Kong", "JSON", "HKID"}
    for key, text in _texts("en"):
        if not LABEL_KEYS.search(key):
            continue
        words = [w for w in text.split() if w.strip(".,:;“”()") not in names]
        assert not _title_case(" ".join(words)), f"en {key}: sentence case: {text}"


def test_the_rules_can_fail() -> None:
    assert _title_case("Manage Your Consents") and not _title_case("Manage your consents")
    assert re.search(CJK + r", ?" + CJK, "姓名, 地址")
