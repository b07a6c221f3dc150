"""Client metadata: the shipped example file, validation rules, secrets, pairwise subjects,
and the provider built from settings (keys and secrets shared by every worker)."""

from __future__ import annotations

from pathlib import Path

import pytest

from federation.oidc.clients import Client, ClientSecrets, load_static_clients
from federation.oidc.config import OidcConfig
from federation.oidc.provider import OidcProvider
from federation.settings import Settings

EXAMPLE = Path(__file__).parents[3] / "deploy" / "clients.yaml.example"


def test_example_file_is_valid_and_defaults_to_sm2() -> None:
    clients = load_static_clients(EXAMPLE)
    client = clients["gd-eservice-demo"]
    assert client.id_token_signed_response_alg == "SM2SM3"
    assert client.client_name.get("zh-CN") == "广东省政务服务示范"
    assert client.sector == "eservice.example.gd.gov.cn"


@pytest.mark.parametrize(
    "change",
    [
        {"redirect_uris": ["http://rp.example.cn/cb"]},  # http off loopback
        {"redirect_uris": ["https://rp.example.cn/cb#frag"]},
        {"scopes": ["profile"]},
        {"id_token_signed_response_alg": "HS256"},
        {"token_endpoint_auth_method": "private_key_jwt"},  # no jwks
        {"client_secret_digest": None},  # no secret at all
        {"unknown_field": 1},
    ],
)
def test_invalid_client_metadata_is_refused(change: dict[str, object]) -> None:
    base = load_static_clients(EXAMPLE)["gd-eservice-demo"].model_dump(by_alias=True)
    with pytest.raises(ValueError):
        Client.model_validate({**base, **change})


def test_secret_check_is_exact(tmp_path: Path) -> None:
    secrets = ClientSecrets(bytes(range(32)))
    secret = secrets.generate()
    assert len(secret) >= 43
    base = load_static_clients(EXAMPLE)["gd-eservice-demo"]
    client = base.model_copy(update={"client_secret_digest": secrets.digest(secret)})
    assert secrets.check(client, secret)
    assert not secrets.check(client, secret[:-1])
    assert not ClientSecrets(bytes(32)).check(client, secret)  # another server key
    with pytest.raises(ValueError):
        ClientSecrets(b"short")


def test_sector_defaults_to_the_redirect_host() -> None:
    base = load_static_clients(EXAMPLE)["gd-eservice-demo"]
    assert base.sector == "eservice.example.gd.gov.cn"
    assert base.model_copy(update={"sector_identifier": "gd.gov.cn"}).sector == "gd.gov.cn"


def test_provider_from_settings_shares_generated_keys(tmp_path: Path) -> None:
    settings = Settings(issuer="https://bridge.example.hk/", data_dir=tmp_path)
    config = OidcConfig(clients_file=None)
    one = OidcProvider.from_settings(settings, config)
    two = OidcProvider.from_settings(settings, config)  # a second worker
    assert one.issuer == "https://bridge.example.hk"
    assert one.signer.algorithms() == ("SM2SM3", "ES256", "RS256")
    assert one.signer.public_jwks() == two.signer.public_jwks()
    assert one.pairwise_salt == two.pairwise_salt and len(one.pairwise_salt) == 32
    token = one.signer.sign({"a": 1}, "SM2SM3")
    assert two.signer.verify(token, ["SM2SM3"]) == {"a": 1}


def test_provider_refuses_a_client_without_a_signing_key(tmp_path: Path) -> None:
    from federation.crypto.keyset import KeySet
    from federation.oidc.clients import ClientRegistry
    from federation.oidc.signing import KeySetSigner

    clients = load_static_clients(EXAMPLE)
    with pytest.raises(ValueError, match="no signing key for SM2SM3"):
        OidcProvider(
            issuer="https://x",
            config=OidcConfig(),
            clients=ClientRegistry(clients),
            secrets=ClientSecrets(bytes(32)),
            signer=KeySetSigner(KeySet.generate(["ES256"])),
            pairwise_salt=bytes(16),
        )
