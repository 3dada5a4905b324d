"""Test helpers shared by the supporting groups' API tests: the strict SDK in process, and extra tenants."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from gcore import AsyncGcore

from tests.conftest import ADMIN_TOKEN

BASE_URL = "http://cloudlet.test"


@pytest.fixture
async def sdk(app: Any, project_id: int) -> AsyncIterator[AsyncGcore]:
    """The official SDK against the in-process app, validating every response strictly."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as http:
        yield AsyncGcore(api_key=ADMIN_TOKEN, base_url=BASE_URL, http_client=http, cloud_project_id=project_id,
                         cloud_region_id=1, max_retries=0, polling_interval_seconds=1, polling_timeout_seconds=30,
                         _strict_response_validation=True)


async def new_client(runtime: Any, *, quota: dict[str, int] | None = None) -> tuple[int, dict[str, str]]:
    """A new client with a client API key; returns its id and the headers that authenticate as it."""
    from cloudlet.admin import repository as admin_repository
    from cloudlet.core.clock import utcnow
    from cloudlet.models import clients
    from cloudlet.quotas import repository as quota_repository

    token = f"client-{uuid.uuid4().hex}"
    async with runtime.db.transaction() as conn:
        client_id = (await conn.execute(clients.insert().values(name=f"c-{token[-8:]}", reseller_id=None,
                                                                created_at=utcnow())
                                        .returning(clients.c.id))).scalar_one()
        await admin_repository.insert_key(conn, name="client key", role="client", token=token, client_id=client_id)
        if quota is not None:
            await quota_repository.set_limits(conn, client_id, 1, quota)
    return int(client_id), {"Authorization": f"APIKey {token}"}


async def new_reseller(runtime: Any) -> tuple[int, int, dict[str, str]]:
    """A reseller with one client; returns (reseller id, its client's id, reseller key headers)."""
    from cloudlet.admin import repository as admin_repository
    from cloudlet.core.clock import utcnow
    from cloudlet.models import clients, resellers

    token = f"reseller-{uuid.uuid4().hex}"
    async with runtime.db.transaction() as conn:
        reseller_id = (await conn.execute(resellers.insert().values(name="r", created_at=utcnow())
                                          .returning(resellers.c.id))).scalar_one()
        client_id = (await conn.execute(clients.insert().values(name="rc", reseller_id=reseller_id,
                                                                created_at=utcnow())
                                        .returning(clients.c.id))).scalar_one()
        await admin_repository.insert_key(conn, name="reseller key", role="reseller", token=token,
                                          reseller_id=reseller_id)
    return int(reseller_id), int(client_id), {"Authorization": f"APIKey {token}"}


@pytest.fixture
async def isolated_project(runtime: Any) -> int:
    """A project of a new client without quota limits, for tests that create instances: the default
    client's regional quota is shared by the whole test session."""
    from cloudlet.projects.service import create_project

    client_id, _ = await new_client(runtime)
    async with runtime.db.transaction() as conn:
        return int((await create_project(conn, client_id=client_id, name="isolated")).id)


@pytest.fixture
async def made_instances(client: httpx.AsyncClient) -> AsyncIterator[list[tuple[int, str]]]:
    """(project id, instance id) of instances a test made; they are deleted after it, to give the
    simulated hosts their capacity back."""
    made: list[tuple[int, str]] = []
    yield made
    for project_id, instance_id in made:
        r = await client.delete(f"/v1/instances/{project_id}/1/{instance_id}")
        assert r.status_code in (200, 404), r.text
