"""Journey units without HTTP: the sealed record on a real Redis, the upstream error →
page table, the connectors file, and the notice version."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis.asyncio as aioredis

from connectors.base import UpstreamError, UpstreamUnavailable
from federation.identity import Assurance, IdentityRecord
from federation.journey.consent_view import notice_for
from federation.journey.context import NoticeTexts
from federation.journey.failures import kind_for_upstream
from federation.journey.record import JourneyStore, Sealer
from federation.journey.upstreams import ConnectorsFileError, connector_config
from federation.oidc.clients import Client
from federation.oidc.models import AuthorizationRequest
from federation.pages import ErrorKind
from federation.settings import Settings
from federation.storage.keys import Keys

CLIENT = Client.model_validate(
    {
        "client_id": "rp",
        "client_name": {"zh-HK": "服務", "zh-CN": "服务", "en": "Service"},
        "redirect_uris": ["https://rp.example.cn/cb"],
        "client_secret_digest": "00" * 32,
        "purposes": {"zh-HK": "目的", "zh-CN": "目的", "en": "Purpose"},
        "processing_method": {"zh-HK": "電子", "zh-CN": "电子", "en": "Electronic"},
        "retention": {"zh-HK": "兩年", "zh-CN": "两年", "en": "Two years"},
        "rights_procedure": {"zh-HK": "電郵", "zh-CN": "电邮", "en": "Email us"},
        "contacts": ["dpo@rp.example.cn"],
    }
)
AUTHZ = AuthorizationRequest(
    client=CLIENT,
    redirect_uri="https://rp.example.cn/cb",
    scopes=("openid",),
    state="s",
    nonce="n",
    code_challenge="c" * 43,
    issuer="https://bridge",
)
IDENTITY = IdentityRecord(
    upstream="iamsmart",
    subject="open-id-1",
    assurance=Assurance.IAMSMART,
    authenticated_at=1,
    attributes={"hkid": {"Identification": "A123456", "CheckDigit": "3"}},
)


async def test_record_is_sealed_and_bound_to_its_id(redis: aioredis.Redis) -> None:
    store = JourneyStore(redis, Sealer(b"k" * 16), ttl=60)
    record = await store.create(AUTHZ, locale="en", user_agent="ua")
    await store.update(record, identity=IDENTITY, stage="consent")
    raw = await redis.hgetall(Keys.journey(record.id))
    assert "A123456" not in str(raw) and 0 < await redis.ttl(Keys.journey(record.id)) <= 60
    loaded = await store.load(record.id)
    assert loaded is not None and loaded.identity == IDENTITY and loaded.stage == "consent"
    assert loaded.authz == AUTHZ
    await redis.hset(Keys.journey("other-id"), mapping=raw)  # moved under another id
    assert await store.load("other-id") is None
    await store.end(record)
    assert await store.load(record.id) is None
    assert await store.load("x" * 200) is None and await store.load(None) is None


async def test_grant_is_sealed_and_bound_to_its_id(redis: aioredis.Redis) -> None:
    store = JourneyStore(redis, Sealer(b"k" * 16), ttl=60)
    record = await store.create(AUTHZ, locale="en", user_agent="ua")
    grant = {"subject": "pairwise-1", "id_token_claims": {"name": "陳大文", "hkid": "A1234563"}}
    await store.update(record, identity=IDENTITY, stage="granted", grant=grant, consent_id="c1")
    raw = await redis.hgetall(Keys.journey(record.id))
    for value in ("陳大文", "A1234563", "pairwise-1"):
        assert all(value not in field for field in raw.values()), value
    loaded = await store.load(record.id)
    assert loaded is not None and loaded.grant == grant and loaded.consent_id == "c1"
    await redis.hset(Keys.journey("other-id"), mapping=raw)  # moved under another id
    assert await store.load("other-id") is None
    await redis.hset(Keys.journey(record.id), "grant", '{"subject": "forged"}')  # unsealed
    assert await store.load(record.id) is None


async def test_ticket_results_only_for_the_waiting_journey(redis: aioredis.Redis) -> None:
    store = JourneyStore(redis, Sealer(b"k" * 16), ttl=60)
    record = await store.create(AUTHZ, locale="en", user_agent="ua")
    await store.bind_ticket(record, "T1")
    assert await store.journey_for_ticket("T1") == record.id
    assert not await store.store_result(record.id, "T2", {"attributes": {}})
    assert await store.store_result(record.id, "T1", {"attributes": {"email": "a@b.hk"}})
    loaded = await store.load(record.id)
    assert loaded is not None and loaded.result == {"attributes": {"email": "a@b.hk"}}


async def test_a_new_record_is_written_with_its_first_update(redis: aioredis.Redis) -> None:
    store = JourneyStore(redis, Sealer(b"k" * 16), ttl=60)
    record = await store.create(AUTHZ, locale="en", user_agent="ua")
    assert await store.load(record.id) is None  # nothing written yet
    await store.bind_state(record, "S1", 30, stage="upstream")
    loaded = await store.load(record.id)
    assert loaded is not None and loaded.authz == AUTHZ and loaded.state == "S1"
    assert loaded.locale == "en" and loaded.user_agent == "ua"
    assert await store.journey_for_state("S1") == record.id
    await store.bind_ticket(record, "T1", wanted=["email"], asked=["email"])
    assert await store.store_result(record.id, "T1", {"attributes": {}})
    await store.update(record, wanted=[], asked=[], ticket="", drop=("result",))
    loaded = await store.load(record.id)
    assert loaded is not None and loaded.result is None and loaded.ticket == ""
    assert loaded.wanted == [] and 0 < await redis.ttl(Keys.journey(record.id)) <= 60
    store.defer(record, wanted=["name_zh"], drop=("result",))
    assert (await store.load(record.id)).wanted == []  # type: ignore[union-attr]
    await store.bind_ticket(record, "T2")
    loaded = await store.load(record.id)
    assert loaded is not None and loaded.wanted == ["name_zh"] and loaded.ticket == "T2"
    unsaved = await store.create(AUTHZ, locale="en", user_agent="ua")
    await store.end(unsaved)
    await store.update(unsaved)
    assert await redis.hgetall(Keys.journey(unsaved.id)) == {}


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("D40000", ErrorKind.UPSTREAM_CANCELLED),
        ("D40001", ErrorKind.UPSTREAM_REJECTED),
        ("D40003", ErrorKind.UPSTREAM_TIMEOUT),
        ("D40004", ErrorKind.UPSTREAM_CODE_EXPIRED),
        ("D60001", ErrorKind.UPSTREAM_REJECTED),
        ("D90000", ErrorKind.UPSTREAM_UNAVAILABLE),
    ],
)
def test_each_upstream_code_has_its_page(code: str, kind: ErrorKind) -> None:
    assert kind_for_upstream(UpstreamError("x", upstream_code=code)) is kind


def test_upstream_errors_without_code() -> None:
    assert kind_for_upstream(UpstreamUnavailable("down")) is ErrorKind.UPSTREAM_UNAVAILABLE
    state = UpstreamError("x", message_key="upstream.state")
    assert kind_for_upstream(state) is ErrorKind.JOURNEY_EXPIRED


def test_connectors_file(tmp_path: Path) -> None:
    good = tmp_path / "c.yaml"
    good.write_text("connectors:\n  - type: iamsmart\n    encipherment_key_file: k.pem\n")
    config = connector_config(Settings(connectors_file=good))
    assert config is not None and config["encipherment_key_file"] == str(tmp_path / "k.pem")
    for text in ("connectors: []\n", "nothing: 1\n", "connectors:\n  - id: x\n", ": : :\n"):
        good.write_text(text)
        with pytest.raises(ConnectorsFileError):
            connector_config(Settings(connectors_file=good))


def test_notice_version_follows_the_texts() -> None:
    texts = NoticeTexts.load()
    first = notice_for(CLIENT, texts)
    changed = CLIENT.model_copy(
        update={"purposes": CLIENT.purposes.model_copy(update={"en": "Another purpose"})}
    )
    assert notice_for(changed, texts).notice_version != first.notice_version
    assert notice_for(CLIENT, texts).notice_version == first.notice_version
    assert first.remember_seconds == CLIENT.consent_remember_seconds
