"""When the action server is down, patients still get an answer that points to help."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.servers import Servers, start_servers

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def servers_without_actions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    workdir = tmp_path_factory.mktemp("e2e-outage")
    servers = start_servers(workdir, f"sqlite:///{workdir / 'records.db'}")
    action_server = servers.processes[0]
    action_server.terminate()
    action_server.wait(timeout=20)
    try:
        yield servers
    finally:
        servers.stop()


def test_red_flag_still_gets_signposting(servers_without_actions: Servers) -> None:
    text = servers_without_actions.say("my temp is 39 and I'm shivering")
    assert "24-hour advice line" in text and "999" in text


def test_question_gets_an_apology_not_silence(servers_without_actions: Servers) -> None:
    text = servers_without_actions.say("how often are check ups?")
    assert "something went wrong" in text
