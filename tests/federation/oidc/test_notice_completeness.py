"""A client whose consent notice would be incomplete is refused, naming the missing element
(issue 18; PIPL arts. 17, 39): static clients at load, dynamic ones with
``invalid_client_metadata`` (RFC 7591 §3.2.2). Also ``idbridge serve`` without the operator
(PDPO DPP1(3)) and the commented examples in ``deploy/``."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml
from click.testing import CliRunner

from consent.notice import DataUser
from federation.cli import main
from federation.oidc.clients import NOTICE_ELEMENTS, load_static_clients
from tests.federation.oidc.test_registration import METADATA, TOKEN

DEPLOY = Path(__file__).parents[3] / "deploy"
TEXT = {"zh-HK": "文字", "zh-CN": "文字", "en": "Text"}
STATIC = {
    "client_id": "rp-notice",
    "client_name": TEXT,
    "redirect_uris": ["https://rp.example.cn/cb"],
    "client_secret_env": "IDB_UNUSED",
    "purposes": TEXT,
    "processing_method": TEXT,
    "retention": TEXT,
    "rights_procedure": TEXT,
    "contacts": ["dpo@rp.example.cn"],
}


@pytest.mark.parametrize("element", sorted(NOTICE_ELEMENTS))
def test_static_client_lacking_an_element_is_refused(tmp_path: Path, element: str) -> None:
    path = tmp_path / "clients.yaml"
    path.write_text(yaml.safe_dump({"clients": [{**STATIC}]}, allow_unicode=True))
    assert "rp-notice" in load_static_clients(path)  # complete: loads
    entry = {k: v for k, v in STATIC.items() if k != element}
    path.write_text(yaml.safe_dump({"clients": [entry]}, allow_unicode=True))
    with pytest.raises(ValueError, match=element):
        load_static_clients(path)


@pytest.mark.parametrize("element", ["retention", "rights_procedure", "processing_method"])
def test_static_client_lacking_one_language_is_refused(tmp_path: Path, element: str) -> None:
    entry = {**STATIC, element: {"zh-HK": "文字", "en": "Text"}}
    path = tmp_path / "clients.yaml"
    path.write_text(yaml.safe_dump({"clients": [entry]}, allow_unicode=True))
    with pytest.raises(ValueError, match=element):
        load_static_clients(path)


@pytest.mark.parametrize("element", sorted(NOTICE_ELEMENTS))
async def test_dynamic_client_lacking_an_element_is_refused(
    http: httpx.AsyncClient, element: str
) -> None:
    metadata = {k: v for k, v in METADATA.items() if k != element}
    response = await http.post("/register", json=metadata, headers=TOKEN)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid_client_metadata"
    assert element in body["error_description"]


@pytest.mark.parametrize("element", ["retention", "rights_procedure"])
async def test_dynamic_tagged_members_missing_a_language(
    http: httpx.AsyncClient, element: str
) -> None:
    metadata = {k: v for k, v in METADATA.items() if k != element}
    metadata.update({f"{element}#zh-HK": "文字", f"{element}#en": "Text"})
    body = (await http.post("/register", json=metadata, headers=TOKEN)).json()
    assert body["error"] == "invalid_client_metadata"
    assert f"{element}#zh-CN" in body["error_description"]
    metadata[f"{element}#zh-CN"] = "文字"
    ok = await http.post("/register", json=metadata, headers=TOKEN)
    assert ok.status_code == 201, ok.text
    assert ok.json()[f"{element}#zh-CN"] == "文字"


def test_examples_are_valid() -> None:
    operator = DataUser.load(DEPLOY / "operator.yaml.example")
    assert operator.configured and operator.access_requests.en
    assert DataUser.load(DEPLOY / "demo" / "operator.yaml").name.en.endswith("(demo)")
    clients = load_static_clients(DEPLOY / "clients.yaml.example")
    assert all(c.rights_procedure and c.retention for c in clients.values())
    assert load_static_clients(DEPLOY / "demo" / "clients.yaml")


def test_serve_refuses_without_the_operator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IDBRIDGE_OPERATOR_FILE", raising=False)
    result = CliRunner().invoke(main, ["serve", "--port", "1"])
    assert result.exit_code != 0
    assert "IDBRIDGE_OPERATOR_FILE" in result.output
    monkeypatch.setenv("IDBRIDGE_OPERATOR_FILE", "/nonexistent/operator.yaml")
    result = CliRunner().invoke(main, ["serve", "--port", "1"])
    assert result.exit_code != 0 and "IDBRIDGE_OPERATOR_FILE" in result.output
