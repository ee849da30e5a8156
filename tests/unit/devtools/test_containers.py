"""The container path's guard: where no Docker engine answers, it says so, and nothing tries to start."""

from __future__ import annotations

import pytest

from devtools.containers import ApacheKafka, MongoDB, docker_unavailable
from devtools.servers import ServerStartError, free_port


@pytest.fixture
def no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"tcp://127.0.0.1:{free_port()}")  # nothing listens there


@pytest.mark.usefixtures("no_engine")
def test_no_docker_engine_is_named_as_the_reason() -> None:
    reason = docker_unavailable()
    assert reason is not None and reason.startswith("no Docker engine answers")


@pytest.mark.usefixtures("no_engine")
@pytest.mark.parametrize("server", [ApacheKafka, MongoDB])
def test_a_container_without_an_engine_fails_to_start_with_the_reason(server: type) -> None:
    with pytest.raises(ServerStartError, match="no Docker engine answers"):
        server().start()

