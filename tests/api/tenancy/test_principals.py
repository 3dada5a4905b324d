"""Principals: a client acts in its own client's projects, a reseller in its clients', an admin everywhere."""

from __future__ import annotations

import uuid

import gcore
import httpx
import pytest
from gcore import AsyncGcore
from gcore.types.cloud import Project

from tests.api.tenancy.helpers import (
    REGION,
    auth,
    create_instance,
    instance_body,
    new_reseller,
    new_tenant,
    ok,
    unique,
)

BASE_URL = "http://cloudlet.test"


async def project_ids(client, headers):
    return {p["id"] for p in ok(await client.get("/v1/projects", params={"limit": 1000}, headers=headers))["results"]}


class TestWhoSeesWhat:
    async def test_projects(self, client):
        reseller, other_reseller = await new_reseller(client), await new_reseller(client)
        first = await new_tenant(client, reseller_id=reseller.reseller_id)
        second = await new_tenant(client, reseller_id=reseller.reseller_id)
        stranger = await new_tenant(client, reseller_id=other_reseller.reseller_id)
        assert await project_ids(client, first.headers) == {first.project_id}
        assert await project_ids(client, reseller.headers) == {first.project_id, second.project_id}
        assert await project_ids(client, other_reseller.headers) == {stranger.project_id}
        assert {first.project_id, second.project_id, stranger.project_id} <= await project_ids(client, None)

    async def test_a_reseller_acts_in_its_clients_projects(self, client, cleanup):
        reseller = await new_reseller(client)
        tenant = await new_tenant(client, reseller_id=reseller.reseller_id)
        r = await client.post(f"/v2/instances/{tenant.project_id}/{REGION}", json=instance_body(),
                              headers=reseller.headers)
        (task_id,) = ok(r)["tasks"]
        task = ok(await client.get(f"/v1/tasks/{task_id}", headers=tenant.headers))
        (instance_id,) = task["created_resources"]["instances"]
        cleanup.append((tenant.project_id, instance_id))
        assert task["client_id"] == tenant.client_id
        assert ok(await client.get(f"/v1/tasks/{task_id}", headers=reseller.headers))["id"] == task_id
        outsider = await new_reseller(client)
        assert (await client.get(f"/v1/tasks/{task_id}", headers=outsider.headers)).status_code == 404
        listed = ok(await client.get("/v1/tasks", params={"project_id": tenant.project_id}, headers=outsider.headers))
        assert listed["count"] == 0

    async def test_a_reseller_creates_projects_for_its_clients_only(self, client):
        reseller = await new_reseller(client)
        mine = await new_tenant(client, reseller_id=reseller.reseller_id)
        other = await new_tenant(client)
        made = ok(await client.post("/v1/projects", json={"name": unique("p"), "client_id": mine.client_id},
                                    headers=reseller.headers))
        assert made["client_id"] == mine.client_id
        r = await client.post("/v1/projects", json={"name": unique("p"), "client_id": other.client_id},
                              headers=reseller.headers)
        assert r.status_code == 404
        assert other.project_id not in await project_ids(client, reseller.headers)

    async def test_a_client_creates_projects_in_its_own_client_only(self, client):
        tenant, other = await new_tenant(client), await new_tenant(client)
        r = await client.post("/v1/projects", json={"name": unique("p"), "client_id": other.client_id},
                              headers=tenant.headers)
        assert r.status_code == 404 and r.json()["exception_class"] == "NotFoundError"
        assert await project_ids(client, other.headers) == {other.project_id}

    async def test_instances_of_another_client_are_absent_from_lists(self, client, cleanup):
        owner, other = await new_tenant(client), await new_tenant(client)
        instance_id = await create_instance(client, owner)
        cleanup.append((owner.project_id, instance_id))
        r = await client.get(f"/v1/instances/{owner.project_id}/{REGION}", headers=other.headers)
        assert r.status_code == 404
        mine = ok(await client.get(f"/v1/instances/{other.project_id}/{REGION}", headers=other.headers))
        assert mine["count"] == 0
        r = await client.get(f"/v1/instances/{other.project_id}/{REGION}/{instance_id}", headers=other.headers)
        assert r.status_code == 404 and r.json()["exception_class"] == "NotFoundError"


class TestKeys:
    @pytest.mark.parametrize("role", ["client", "reseller", "superuser"])
    async def test_a_key_without_its_tenant_authenticates_nobody(self, client, runtime, role):
        from cloudlet.admin import repository as admin_repository

        await new_tenant(client)  # a client without a reseller: an IS NULL match would reach it
        token = f"broken-{uuid.uuid4().hex}"
        async with runtime.db.transaction() as conn:
            await admin_repository.insert_key(conn, name="broken", role=role, token=token)
        r = await client.get("/v1/projects", headers=auth(token))
        assert r.status_code == 401 and "Bad permanent token" in r.json()["message"]

    async def test_unknown_token_is_401_and_shows_only_a_prefix(self, client):
        token = f"unknown-{uuid.uuid4().hex}"
        r = await client.get("/v1/projects", headers=auth(token))
        assert r.status_code == 401 and token not in r.text


class TestWithTheSdk:
    async def test_a_client_key_in_strict_mode(self, app, client, cleanup):
        owner, other = await new_tenant(client), await new_tenant(client)
        instance_id = await create_instance(client, owner)
        cleanup.append((owner.project_id, instance_id))
        token = other.headers["Authorization"].split(" ", 1)[1]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as http:
            sdk = AsyncGcore(api_key=token, base_url=BASE_URL, http_client=http, cloud_project_id=other.project_id,
                             cloud_region_id=REGION, max_retries=0, _strict_response_validation=True)
            page = await sdk.cloud.instances.list()
            assert page.count == 0 and page.results == []
            with pytest.raises(gcore.NotFoundError):
                await sdk.cloud.instances.get(instance_id)
            with pytest.raises(gcore.NotFoundError):
                await sdk.cloud.instances.get(instance_id, project_id=owner.project_id)
            with pytest.raises(gcore.NotFoundError):
                await sdk.cloud.instances.delete(instance_id, project_id=owner.project_id)
            projects = await sdk.cloud.projects.list()
            assert [Project.model_validate(p.model_dump()).id for p in projects.results] == [other.project_id]
        assert ok(await client.get(f"/v1/instances/{owner.project_id}/{REGION}/{instance_id}"))["status"] == "ACTIVE"
