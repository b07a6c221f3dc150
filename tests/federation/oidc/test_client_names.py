"""Client names people can tell apart (issue 16 item 3): a name that equals or is
confusable with another client's — UTS #39 skeleton (ICU), width- and case-folded, in any
language variant — is refused for static clients (the YAML) and at dynamic registration
(RFC 7591), including against a client registered at the same moment."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import yaml

from federation.oidc.client_names import (
    ConfusableName,
    check_distinct,
    claim_client_name,
    name_keys,
    release_client_name,
)
from federation.oidc.clients import Client, load_static_clients
from federation.oidc.provider import OidcProvider
from federation.storage.keys import Keys
from tests.federation.oidc.test_registration import METADATA, TOKEN

HERE = Path(__file__).parent


def _clash(a: str, b: str) -> bool:
    return bool(name_keys(a) & name_keys(b))


@pytest.mark.parametrize(
    ("name", "impostor"),
    [
        ("Guangdong e-service", "Guangdong e-service"),  # the same
        ("Guangdong e-service", "GUANGDONG E-SERVICE"),  # case
        ("Guangdong e-service", "Ｇｕａｎｇｄｏｎｇ ｅ-ｓｅｒｖｉｃｅ"),  # full width
        ("Guangdong e-service", "Guangdong  e-service "),  # white space
        ("Guangdong e-service", "Guаngdоng е-sеrvicе"),  # Cyrillic а о е
        ("Guangdong e-service", "Guangdong e\u200b-service"),  # a zero-width space
        ("Guangdong e-government", "Guangdong e-governrnent"),  # rn for m
        ("paypal", "PayPaI"),  # capital I for small l
        ("Service 01", "Service O1"),  # capital O for zero
        ("廣東政務服務", "广东政务服务"),  # the same name in the other script
        ("廣東政務服務", "廣東政務服務"),
    ],
)
def test_confusable_names_clash(name: str, impostor: str) -> None:
    assert _clash(name, impostor)


@pytest.mark.parametrize(
    ("name", "other"),
    [
        ("Guangdong e-service", "Guangdong e-services"),
        ("Test service ES256", "Test service RS256"),
        ("廣東政務服務", "廣東稅務服務"),
        ("PAR service", "PAR 服務"),
    ],
)
def test_different_names_do_not_clash(name: str, other: str) -> None:
    assert not _clash(name, other)


def _entry(client_id: str, name: Any) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "client_name": name,
        "redirect_uris": [f"https://{client_id}.example.cn/cb"],
        "client_secret_env": "X",
        "purposes": {"zh-HK": "辦理", "zh-CN": "办理", "en": "Handling"},
        "processing_method": {"zh-HK": "電子", "zh-CN": "电子", "en": "Electronic"},
        "retention": {"zh-HK": "兩年", "zh-CN": "两年", "en": "Two years"},
        "rights_procedure": {"zh-HK": "電郵", "zh-CN": "电邮", "en": "Email us"},
        "contacts": ["dpo@rp.example.cn"],
    }


def _names(zh_hk: str, zh_cn: str, en: str) -> dict[str, str]:
    return {"zh-HK": zh_hk, "zh-CN": zh_cn, "en": en}


def test_static_clients_with_confusable_names_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "clients.yaml"
    real = _entry("gd-real", _names("廣東政務服務", "广东政务服务", "Guangdong e-service"))
    # every variant differs from the same language's, but its English name copies the real
    # one's zh-CN text in another width: compared across every variant, it clashes
    fake = _entry("gd-fake", _names("廣東服務", "广东服务", "广东政务服务"))
    path.write_text(yaml.safe_dump({"clients": [real, fake]}, allow_unicode=True), "utf-8")
    with pytest.raises(ValueError, match="confusable") as refused:
        load_static_clients(path)
    assert "gd-fake" in str(refused.value) and "gd-real" in str(refused.value)
    other = _entry("gd-other", _names("深圳服務", "深圳服务", "Shenzhen service"))
    path.write_text(yaml.safe_dump({"clients": [real, other]}, allow_unicode=True), "utf-8")
    assert set(load_static_clients(path)) == {"gd-real", "gd-other"}


def test_the_shipped_and_test_clients_files_pass() -> None:
    assert len(load_static_clients(HERE / "clients.yaml")) >= 4
    repo = HERE.parents[2]
    assert load_static_clients(repo / "deploy" / "clients.yaml.example")


@pytest.mark.parametrize(
    "name",
    [
        {"client_name": "Guangdong e-service"},  # exactly a static client's English name
        {"client_name": "Guаngdоng е-sеrvicе"},  # Cyrillic
        {"client_name": "新服務", "client_name#en": "GUANGDONG E-SERVICE"},  # one variant
        {"client_name": "广东政务服务"},  # the static client's zh-CN name, as every variant
        {"client_name": "Dyn", "client_name#zh-HK": "廣東政務服務"},
    ],
    ids=["same", "cyrillic", "one-variant-case", "zh-CN", "zh-HK-tagged"],
)
async def test_registration_refuses_a_static_clients_name(
    http: httpx.AsyncClient, redis: aioredis.Redis, name: dict[str, str]
) -> None:
    body = {k: v for k, v in METADATA.items() if not k.startswith("client_name")}
    response = await http.post("/register", json={**body, **name}, headers=TOKEN)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_client_metadata"
    assert "confusable" in response.json()["error_description"]
    assert not await redis.keys(Keys.client("*"))


async def test_registration_refuses_another_dynamic_clients_name(
    http: httpx.AsyncClient, redis: aioredis.Redis
) -> None:
    first = await http.post("/register", json=METADATA, headers=TOKEN)
    assert first.status_code == 201, first.text
    copy = {**METADATA, "client_name": "新名稱", "client_name#en": "Dynamic ѕervice"}  # ѕ: U+0455
    second = await http.post("/register", json=copy, headers=TOKEN)
    assert second.status_code == 400 and second.json()["error"] == "invalid_client_metadata"
    assert len(await redis.keys(Keys.client("*"))) == 1
    other = {**METADATA, "client_name": "另一服務", "client_name#en": "Another service"}
    assert (await http.post("/register", json=other, headers=TOKEN)).status_code == 201


async def test_two_concurrent_registrations_cannot_both_take_a_name(
    http: httpx.AsyncClient, redis: aioredis.Redis
) -> None:
    twins = [
        {**METADATA, "client_name": "雙生服務", "client_name#en": "Twin service"},
        {**METADATA, "client_name": "雙生服務", "client_name#en": "TWIN SERVICE"},
    ] * 4
    answers = await asyncio.gather(*(http.post("/register", json=m, headers=TOKEN) for m in twins))
    assert sorted(a.status_code for a in answers) == [201] + [400] * 7
    assert len(await redis.keys(Keys.client("*"))) == 1


async def test_clients_registered_before_the_index_are_compared_too(
    http: httpx.AsyncClient, redis: aioredis.Redis
) -> None:
    first = await http.post("/register", json=METADATA, headers=TOKEN)
    assert first.status_code == 201
    await redis.delete(Keys.CLIENT_NAMES)  # as stored by a bridge without the index
    again = {**METADATA, "client_name": "新名稱", "client_name#en": "dynamic service"}
    response = await http.post("/register", json=again, headers=TOKEN)
    assert response.status_code == 400, response.text


def _client(client_id: str, zh_hk: str, zh_cn: str, en: str) -> Client:
    return Client.model_validate(_entry(client_id, _names(zh_hk, zh_cn, en)))


async def test_an_update_keeps_its_own_name_and_a_deletion_frees_it(
    redis: aioredis.Redis, provider: OidcProvider
) -> None:
    """The calls an RFC 7592 update and delete make."""
    static = provider.clients.static.values()
    a = _client("dyn-a", "甲服務", "甲服务", "Service A")
    await claim_client_name(redis, static, a)
    renamed = _client("dyn-a", "甲服務", "甲服务", "Service A1")
    await claim_client_name(redis, static, renamed, previous=a)  # its own zh names: no clash
    await claim_client_name(redis, static, _client("dyn-b", "乙服務", "乙服务", "Service A"))
    with pytest.raises(ConfusableName) as clash:  # A's zh names are still A's
        await claim_client_name(redis, static, _client("dyn-c", "甲服務", "丙服务", "C"))
    assert clash.value.other == "dyn-a"
    await release_client_name(redis, renamed)
    await claim_client_name(redis, static, _client("dyn-c", "甲服務", "丙服务", "C"))
    owners = set((await redis.hgetall(Keys.CLIENT_NAMES)).values())
    assert owners == {"dyn-b", "dyn-c", "1"}  # "1": the mark that the index is complete


def test_check_distinct_names_the_other_client() -> None:
    a = Client.model_validate(_entry("a", _names("甲", "甲", "Alpha")))
    b = Client.model_validate(_entry("b", _names("乙", "乙", "ALPHA")))
    with pytest.raises(ConfusableName) as clash:
        check_distinct(b, [a])
    assert clash.value.other == "a"
    check_distinct(a, [a])  # itself (an update) is no clash
    assert json.dumps(str(clash.value))
