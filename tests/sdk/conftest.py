"""A real ``cloudlet serve`` process per backend, driven by the official gcore SDK in strict mode."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gcore import Gcore

from tests.conftest import ADMIN_TOKEN, Server, database_url, run_server


@pytest.fixture(scope="session")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with database_url(backend) as url, run_server(url, tmp_path_factory.mktemp("server")) as srv:
        yield srv


@pytest.fixture
def sdk(server: Server) -> Gcore:
    """The SDK as a user would configure it, validating every response strictly."""
    return Gcore(
        api_key=ADMIN_TOKEN,
        base_url=server.url,
        cloud_project_id=1,
        cloud_region_id=1,
        polling_interval_seconds=1,
        polling_timeout_seconds=60,
        max_retries=0,
        _strict_response_validation=True,
    )
