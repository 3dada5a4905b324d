"""Tenants made through the admin API, for tests that need several clients and resellers.

``client`` in these helpers is the admin-authenticated httpx client of ``tests/conftest.py``.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

UBUNTU = "3a4b3c7e-7a0c-4c51-9f7e-0b6f9d1c0001"
WINDOWS = "3a4b3c7e-7a0c-4c51-9f7e-0b6f9d1c0006"
REGION = 1


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"APIKey {token}"}


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return r.json() if r.content else None


@dataclasses.dataclass
class Tenant:
    """A client with its own key and one project."""

    client_id: int
    key_id: int
    headers: dict[str, str]
    project_id: int
    reseller_id: int | None = None


@dataclasses.dataclass
class Reseller:
    reseller_id: int
    key_id: int
    headers: dict[str, str]


async def new_reseller(client: httpx.AsyncClient) -> Reseller:
    reseller = ok(await client.post("/admin/v1/resellers", json={"name": unique("reseller")}))
    key = ok(await client.post("/admin/v1/api_keys", json={"name": "reseller key", "role": "reseller",
                                                         "reseller_id": reseller["id"]}))
    return Reseller(reseller_id=reseller["id"], key_id=key["id"], headers=auth(key["token"]))


async def new_tenant(client: httpx.AsyncClient, *, reseller_id: int | None = None,
                     quota: dict[str, int] | None = None) -> Tenant:
    """A new client (of ``reseller_id``, if given) with a client key and a project it made itself.

    Without ``quota`` the client keeps the catalog's default limits; with it, it has exactly those."""
    body: dict[str, Any] = {"name": unique("client")}
    if reseller_id is not None:
        body["reseller_id"] = reseller_id
    made = ok(await client.post("/admin/v1/clients", json=body))
    key = ok(await client.post("/admin/v1/api_keys", json={"name": "client key", "role": "client",
                                                         "client_id": made["id"]}))
    headers = auth(key["token"])
    project = ok(await client.post("/v1/projects", json={"name": unique("project")}, headers=headers))
    assert project["client_id"] == made["id"]
    if quota is not None:  # exactly these limits, none of the defaults
        await set_quota(client, made["id"], exact=True, **quota)
    return Tenant(client_id=made["id"], key_id=key["id"], headers=headers, project_id=project["id"],
                  reseller_id=reseller_id)


async def set_quota(client: httpx.AsyncClient, client_id: int, *, exact: bool = False,
                    **limits: int | None) -> dict[str, int]:
    """Set ``<quota>_limit`` values; ``exact`` first removes every other limit (a new client has the
    catalog's defaults)."""
    if exact:
        current = ok(await client.get(f"/v2/regional_quotas/{client_id}/{REGION}"))
        limits = {**{key: None for key in current if key.endswith("_limit")}, **limits}
        if not limits:
            return current  # type: ignore[no-any-return]
    report: dict[str, int] = ok(await client.put(f"/admin/v1/regional_quotas/{client_id}/{REGION}", json=limits))
    return report


def instance_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "flavor": "g1-standard-1-2",
        "interfaces": [{"type": "external"}],
        "volumes": [{"source": "image", "image_id": UBUNTU, "size": 10}],
        "name": unique("vm"),
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


async def finished(client: httpx.AsyncClient, task_id: str, headers: dict[str, str] | None = None) -> Any:
    task = ok(await client.get(f"/v1/tasks/{task_id}", headers=headers))
    assert task["state"] == "FINISHED", task
    return task


async def create_instance(client: httpx.AsyncClient, tenant: Tenant, **overrides: Any) -> str:
    """Create one instance as the tenant; returns its id once its task has finished."""
    r = await client.post(f"/v2/instances/{tenant.project_id}/{REGION}", json=instance_body(**overrides),
                          headers=tenant.headers)
    (task_id,) = ok(r)["tasks"]
    task = await finished(client, task_id, tenant.headers)
    (instance_id,) = task["created_resources"]["instances"]
    return str(instance_id)


async def delete_instances(client: httpx.AsyncClient, project_id: int, *instance_ids: str) -> None:
    for instance_id in instance_ids:
        r = await client.delete(f"/v1/instances/{project_id}/{REGION}/{instance_id}")
        assert r.status_code in (200, 404), r.text


@pytest.fixture
async def cleanup(client: httpx.AsyncClient) -> AsyncIterator[list[tuple[int, str]]]:
    """(project id, instance id) of instances a test made: deleted afterwards, to give the simulated
    hosts their capacity back."""
    made: list[tuple[int, str]] = []
    yield made
    for project_id, instance_id in made:
        await delete_instances(client, project_id, instance_id)


async def instances_in(client: httpx.AsyncClient, project_id: int) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = ok(await client.get(f"/v1/instances/{project_id}/{REGION}"))["results"]
    return results


async def count_in(client: httpx.AsyncClient, group: str, project_id: int) -> int:
    total: int = ok(await client.get(f"/v1/{group}/{project_id}/{REGION}", params={"limit": 0}))["count"]
    return total


async def created(client: httpx.AsyncClient, r: httpx.Response, kind: str,
                  headers: dict[str, str] | None = None) -> str:
    """The one ``kind`` resource that the finished task of response ``r`` created."""
    (task_id,) = ok(r)["tasks"]
    (resource_id,) = (await finished(client, task_id, headers))["created_resources"][kind]
    return str(resource_id)


async def private_subnet(client: httpx.AsyncClient, tenant: Tenant, cidr: str = "10.20.0.0/24") -> tuple[str, str]:
    """(network id, subnet id) of a new private network of the tenant."""
    net = await created(client, await client.post(f"/v1/networks/{tenant.project_id}/{REGION}",
                                                  json={"name": unique("net")}, headers=tenant.headers),
                        "networks", tenant.headers)
    sub = await created(client, await client.post(f"/v1/subnets/{tenant.project_id}/{REGION}",
                                                  json={"name": unique("sub"), "network_id": net, "cidr": cidr},
                                                  headers=tenant.headers), "subnets", tenant.headers)
    return net, sub
