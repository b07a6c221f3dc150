"""The waiting page ("approve in the iAM Smart app", shown when the upstream has no browser
page for approvals, as with the real service) is never rendered at the login callback's
URL: its language-switch links would carry the one-time ``code`` and ``state`` (issue 24),
and following one would replay the callback. The callback redirects (303) to
``/journey/continue``, where the page and its links are clean."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from connectors.iamsmart.simulator.app import create_app as create_simulator
from connectors.iamsmart.simulator.config import SimulatorSettings
from federation.storage.runtime import RedisServer, free_port
from tests.federation.journey.harness import (
    Bridge,
    Person,
    RelyingParty,
    ServerThread,
    authorize_url,
    bridge_env,
    build_with_env,
    form_fields,
    rp_app,
    rp_client,
    write_sim_clients,
)


@pytest.fixture(scope="module")
def waiting_bridge(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Bridge]:
    """A bridge whose connector has no ``approval_url_template``: the waiting page."""
    folder = tmp_path_factory.mktemp("waiting")
    port, sim_port = free_port(), free_port()
    rp = RelyingParty()
    sim_url = f"http://127.0.0.1:{sim_port}"
    callback = f"http://127.0.0.1:{port}/upstream/iamsmart/callback"
    simulator = create_simulator(
        write_sim_clients(folder, [callback]), settings=SimulatorSettings(), public_url=sim_url
    )
    with ServerThread(rp_app(rp)) as rp_server:
        rp.url = rp_server.url
        env = bridge_env(folder, redis_server.url, port, sim_url, rp)
        path = Path(env["IDBRIDGE_CONNECTORS_FILE"])
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        del document["connectors"][0]["approval_url_template"]
        path.write_text(yaml.safe_dump(document), encoding="utf-8")
        app, settings = build_with_env(env)
        with (
            ServerThread(simulator, sim_port, lifespan=True),
            ServerThread(app, port, lifespan=True) as srv,
        ):
            yield Bridge(srv.url, sim_url, settings, rp, redis_server.url, env)


async def test_the_waiting_page_links_carry_no_code_or_state(waiting_bridge: Bridge) -> None:
    bridge = waiting_bridge
    url, *_ = await authorize_url(bridge, rp_client(bridge, "rp-sm2"))
    person = Person(bridge, "chan-tai-man")
    try:
        page = await person.go(url)
        login = re.search(r'action="(/sim/app/login/[^"]+)"', page.text)
        assert login is not None, page.text[:300]
        form = {"persona": "chan-tai-man", "action": "approve"}
        form["csrf"] = form_fields(page.text)["csrf"]
        callback = await person.http.post(
            bridge.sim_url + login.group(1).replace("&amp;", "&"), data=form
        )
        while callback.is_redirect and "/upstream/" not in callback.headers["location"]:
            callback = await person.http.get(callback.headers["location"])
        assert "code=" in callback.headers["location"]  # the login callback URL
        waiting = await person.go(callback.headers["location"])
    finally:
        await person.aclose()
    assert waiting.status_code == 200 and str(waiting.url).startswith(
        bridge.url + "/journey/continue"
    )
    links = re.findall(r'href="([^"]*)"', waiting.text)
    switch = [link for link in links if "lang=" in link]
    assert len(switch) >= 2, links
    for link in links:
        assert "code=" not in link and "state=" not in link, link
    assert "/journey/cancel" in waiting.text  # the waiting page itself
