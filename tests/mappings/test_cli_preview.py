"""``idbridge mappings preview`` and ``check`` through click, as an integrator runs them."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from federation.cli import main
from tests.mappings.conftest import PERSONAS


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["mappings", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code, result.output


def sandbox_file(tmp_path: Path, payload: object) -> str:
    path = tmp_path / "sandbox.json"
    path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_preview_nested_input(tmp_path: Path) -> None:
    persona = PERSONAS[0]
    path = sandbox_file(tmp_path, {"profile": persona["profile"], "eme": persona["eme"]})
    code, out = run(
        "preview",
        "--profile",
        "guangdong-tyrz",
        "--input",
        path,
        "--scope",
        "openid all",
        "--supply",
        "home_return_permit=H12345678",
    )
    assert code == 0, out
    data = json.loads(out)
    assert data["id_token_claims"]["cn"] == "陈大文"
    assert data["id_token_claims"]["idcardtype"] == "516"
    assert data["user_supplied"][0]["attribute"] == "home_return_permit"
    assert "hkid" in data["dropped"]


def test_preview_flat_input_and_claims(tmp_path: Path) -> None:
    path = sandbox_file(tmp_path, {**PERSONAS[0]["profile"], "userType": "sign"})
    claims = json.dumps({"id_token": {"birthdate": {"essential": True}}})
    code, out = run(
        "preview",
        "--profile",
        "oidc-standard",
        "--input",
        path,
        "--scope",
        "openid",
        "--claims",
        claims,
    )
    assert code == 0, out
    data = json.loads(out)
    assert data["id_token_claims"]["birthdate"] == "1978-04-12"
    assert [i["claim"] for i in data["items"]] == ["birthdate"]
    assert data["required_attributes"] == ["birth_date"]


def test_preview_bad_inputs_give_one_line_errors(tmp_path: Path) -> None:
    good = sandbox_file(tmp_path, PERSONAS[0]["profile"])
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{nope", encoding="utf-8")
    bad_hkid = sandbox_file(tmp_path, {"idNo": {"Identification": "A123456", "CheckDigit": "9"}})
    cases = [
        ("--profile", "nope", "--input", good),
        ("--profile", "oidc-standard", "--input", str(bad_json)),
        ("--profile", "oidc-standard", "--input", str(tmp_path / "absent.json")),
        ("--profile", "oidc-standard", "--input", good, "--claims", "[1]"),
        ("--profile", "oidc-standard", "--input", bad_hkid),
    ]
    for args in cases:
        code, out = run("preview", *args)
        assert code != 0, args
        lines = out.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), out
        assert "Traceback" not in out
    _, out = run("preview", "--profile", "oidc-standard", "--input", bad_hkid)
    assert "hkid_check_digit" in out and "A123456" not in out


def test_check(tmp_path: Path) -> None:
    code, out = run("check")
    assert code == 0 and out.count("ok ") == 3
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nprotocol: ftp\nclaims: {}\n", encoding="utf-8")
    code, out = run("check", str(bad))
    assert code == 1 and f"{bad}:2:" in out
