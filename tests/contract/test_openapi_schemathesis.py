"""schemathesis (pinned in pyproject, seeded, bounded) against the bridge's own
``/openapi.json`` over real HTTP: the whole bridge (``create_app``) in uvicorn on loopback
with a real redis-server, every check schemathesis has (positive data acceptance
included), a real operator logged in with password and TOTP. Fails on any 5xx, any
response that the document does not describe, and any request the document calls valid
that the bridge refuses. Bounded: a few examples per operation, well under a minute."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pyotp
import pytest
import schemathesis
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings

from federation.cli import main as cli
from federation.storage.runtime import RedisServer, free_port
from tests.federation.journey.harness import (
    PII_KEY,
    RelyingParty,
    ServerThread,
    bridge_env,
    build_with_env,
)

PASSWORD = "schemathesis operator passphrase"
EXAMPLES = 15
ADD = ["operator", "add", "contract-admin", "--role", "admin", "--password-stdin"]


@pytest.fixture(scope="module")
def bridge_url(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("contract")
    port = free_port()
    env = bridge_env(
        folder, redis_server.url, port, "http://127.0.0.1:9", RelyingParty(url="http://127.0.0.1:9")
    )
    env["IDBRIDGE_RATE_LIMIT_ENABLED"] = "false"
    result = CliRunner().invoke(
        cli,
        [*ADD, "--redis-url", redis_server.url, "--pii-key", PII_KEY],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    uri = next(line for line in result.output.splitlines() if line.startswith("otpauth://"))
    secret = parse_qs(urlparse(uri).query)["secret"][0]
    app, _ = build_with_env(env)
    with ServerThread(app, port, lifespan=True) as server:
        login = httpx.post(
            server.url + "/operator/api/login",
            json={
                "username": "contract-admin",
                "password": PASSWORD,
                "totp": pyotp.TOTP(secret).at(time.time()),
            },
        )
        assert login.status_code == 200, login.text
        yield server.url, {"Authorization": f"Bearer {login.json()['access_token']}"}


def _schema(url: str) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_url(url + "/openapi.json")
    # logging out would end the one session the run has (TOTP codes are single-use)
    return schema.exclude(path="/operator/api/logout")


def test_every_operation_conforms(bridge_url: tuple[str, dict[str, str]]) -> None:
    url, auth = bridge_url
    schema = _schema(url)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5, [o.label for o in operations]
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            headers = dict(case.headers or {})
            if not case.path.endswith("/login"):
                headers.update(auth)
            case.call_and_validate(headers=headers)

        try:
            run()
        except Exception as exc:  # every operation's failure, then fail once
            failures.append(f"{operation.label}: {exc}"[:3000])
    assert not failures, "\n\n".join(failures)


def test_stateful_sequences_conform(bridge_url: tuple[str, dict[str, str]]) -> None:
    """The stateful phase: schemathesis chains operations through the links it infers
    (search → view → revoke by id), bounded in steps and examples."""
    url, auth = bridge_url
    machine = _schema(url).as_state_machine()

    class Stateful(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:
            return {} if case.path.endswith("/login") else {"headers": auth}

    case = Stateful.TestCase
    case.settings = settings(
        max_examples=10,
        stateful_step_count=5,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    case("runTest").runTest()
