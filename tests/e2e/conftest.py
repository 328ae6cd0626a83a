"""One pair of real servers per database kind, shared by the end-to-end tests of a module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import DATABASE_KINDS, fresh_database_url
from tests.e2e.servers import MODEL, Servers, start_servers


@pytest.fixture(scope="module", params=DATABASE_KINDS)
def servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Servers]:
    """The action server and Rasa, on a fresh SQLite file or PostgreSQL schema."""
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train` first")
    workdir = tmp_path_factory.mktemp(f"e2e-{request.param}")
    with fresh_database_url(request.param, workdir) as url:
        running = start_servers(workdir, url)
        try:
            yield running
        finally:
            running.stop()
