"""Helpers shared by the network-side API tests: make resources through the API and wait on tasks."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa

UBUNTU = "3a4b3c7e-7a0c-4c51-9f7e-0b6f9d1c0001"
PUBLIC_NETWORK = "5d2e2e8c-2f1a-4c5b-8b1e-0e7c3a9f0001"
PUBLIC_V4 = "5d2e2e8c-2f1a-4c5b-8b1e-0e7c3a9f0011"
REGION = 1


async def task_of(client: Any, response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    (task_id,) = response.json()["tasks"]
    task = (await client.get(f"/v1/tasks/{task_id}")).json()
    return task  # type: ignore[no-any-return]


async def finished(client: Any, response: Any, kind: str | None = None) -> Any:
    """Assert the task of ``response`` FINISHED; return its single created ``kind`` id (or the task)."""
    task = await task_of(client, response)
    assert task["state"] == "FINISHED", task
    if kind is None:
        return task
    (resource_id,) = task["created_resources"][kind]
    return resource_id


async def create_network(client: Any, project_id: int, name: str = "net-1", **extra: Any) -> str:
    r = await client.post(f"/v1/networks/{project_id}/{REGION}", json={"name": name, **extra})
    return await finished(client, r, "networks")  # type: ignore[no-any-return]


async def create_subnet(client: Any, project_id: int, network_id: str, cidr: str = "10.0.0.0/24",
                        name: str = "subnet-1", **extra: Any) -> str:
    r = await client.post(f"/v1/subnets/{project_id}/{REGION}",
                          json={"network_id": network_id, "cidr": cidr, "name": name, **extra})
    return await finished(client, r, "subnets")  # type: ignore[no-any-return]


async def create_instance(client: Any, project_id: int, *, interfaces: list[dict[str, Any]] | None = None,
                          name: str = "vm-1", **extra: Any) -> str:
    body = {
        "flavor": "g1-standard-1-2", "name": name,
        "interfaces": interfaces or [{"type": "external"}],
        "volumes": [{"source": "image", "image_id": UBUNTU, "size": 10}],
        **extra,
    }
    r = await client.post(f"/v2/instances/{project_id}/{REGION}", json=body)
    return await finished(client, r, "instances")  # type: ignore[no-any-return]


async def get_instance(client: Any, project_id: int, instance_id: str) -> dict[str, Any]:
    r = await client.get(f"/v1/instances/{project_id}/{REGION}/{instance_id}")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def other_project(runtime: Any) -> int:
    """Another project, for the 404-on-a-foreign-id tests (ids are scoped by project)."""
    import uuid

    from cloudlet.projects.service import create_project

    async with runtime.db.transaction() as conn:
        project = await create_project(conn, client_id=1, name=f"other-{uuid.uuid4().hex[:10]}")
    return int(project.id)


async def count_rows(runtime: Any, table: sa.Table, *where: Any) -> int:
    async with runtime.db.read() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(table).where(*where)) or 0)


async def _fresh_client_project(runtime: Any) -> int:
    """A project of a client of its own (with the catalog's default quotas), so these tests neither
    use up nor depend on the quota that every other test's instances share."""
    import uuid

    from cloudlet.core.clock import utcnow
    from cloudlet.models import clients, regional_quotas
    from cloudlet.projects.service import create_project
    from cloudlet.seed import default_quota_limits

    async with runtime.db.transaction() as conn:
        client_id = await conn.scalar(sa.insert(clients).values(name=f"net-{uuid.uuid4().hex[:8]}", reseller_id=None,
                                                                created_at=utcnow()).returning(clients.c.id))
        await conn.execute(sa.insert(regional_quotas).values(client_id=client_id, region_id=REGION,
                                                             limits=default_quota_limits()))
        project = await create_project(conn, client_id=client_id, name="networking")
    return int(project.id)


async def _delete_instances(client: Any, project_id: int) -> None:
    """Delete what a test left running, so the simulated hosts keep room for the tests after it."""
    listed = (await client.get(f"/v1/instances/{project_id}/{REGION}", params={"limit": 1000})).json()
    for item in listed.get("results", []):
        await client.delete(f"/v1/instances/{project_id}/{REGION}/{item['id']}")


@contextlib.asynccontextmanager
async def own_project(runtime: Any, client: Any) -> AsyncIterator[int]:
    """What the network-side tests use as ``project_id``: a project of its own client, whose
    instances are deleted afterwards."""
    pid = await _fresh_client_project(runtime)
    try:
        yield pid
    finally:
        await _delete_instances(client, pid)
