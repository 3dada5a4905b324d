"""Quotas bite: create, resize and attach refuse (400 QuotaLimitExceed) what would exceed a limit,
and create nothing. Usage is counted from the resource tables, and concurrent requests racing for
the last unit cannot together exceed it (behaviour.md 3.2, 4)."""

from __future__ import annotations

import asyncio

import gcore
import httpx
import pytest
from gcore import AsyncGcore
from gcore.types.cloud import Instance, TaskIDList

from tests.api.tenancy.helpers import (
    REGION,
    UBUNTU,
    count_in,
    create_instance,
    instance_body,
    new_tenant,
    ok,
    private_subnet,
    set_quota,
)

BASE_URL = "http://cloudlet.test"


def assert_quota_error(r, attribute, *, usage, requested_usage, limit):
    assert r.status_code == 400, r.text
    err = r.json()
    assert err["exception_class"] == "QuotaLimitExceed"
    assert err["message"] == f"Quota limit for {attribute} exceeded by {requested_usage - limit}"
    assert err["info"] == {"attribute": attribute, "current_usage": usage, "requested_usage": requested_usage,
                           "limit": limit}


async def usage(client, tenant):
    return ok(await client.get(f"/v2/regional_quotas/{tenant.client_id}/{REGION}"))


async def create(client, tenant, **overrides):
    return await client.post(f"/v2/instances/{tenant.project_id}/{REGION}", json=instance_body(**overrides),
                             headers=tenant.headers)


class TestCreateEnforcement:
    @pytest.mark.parametrize("limits, overrides, attribute, usage_, requested", [
        ({"cpu_count_limit": 1}, {"flavor": "g1-standard-2-4"}, "cpu_count", 0, 2),
        ({"ram_limit": 2047}, {}, "ram", 0, 2048),
        ({"vm_count_limit": 0}, {}, "vm_count", 0, 1),
        ({"shared_vm_count_limit": 0}, {"flavor": "g1s-shared-1-1"}, "shared_vm_count", 0, 1),
        ({"volume_count_limit": 1}, {"volumes": [{"source": "image", "image_id": UBUNTU, "size": 10},
                                                 {"source": "new-volume", "size": 1}]}, "volume_count", 0, 2),
        ({"volume_size_limit": 15}, {"volumes": [{"source": "image", "image_id": UBUNTU, "size": 16}]},
         "volume_size", 0, 16),
        ({"external_ip_count_limit": 1}, {"interfaces": [{"type": "external"}, {"type": "external"}]},
         "external_ip_count", 0, 2),
        ({"vm_count_limit": 3}, {"name": None, "names": ["a-1", "b-2", "c-3", "d-4"]}, "vm_count", 0, 4),
    ])
    async def test_over_a_limit_is_refused_and_creates_nothing(self, client, limits, overrides, attribute, usage_,
                                                               requested):
        tenant = await new_tenant(client, quota=limits)
        before = await usage(client, tenant)
        r = await create(client, tenant, **overrides)
        assert_quota_error(r, attribute, usage=usage_, requested_usage=requested, limit=limits[f"{attribute}_limit"])
        assert await count_in(client, "instances", tenant.project_id) == 0
        assert await count_in(client, "volumes", tenant.project_id) == 0
        assert await usage(client, tenant) == before
        tasks = ok(await client.get("/v1/tasks", params={"project_id": tenant.project_id}))
        assert tasks["count"] == 0

    async def test_new_floating_ips_are_counted(self, client, cleanup):
        tenant = await new_tenant(client, quota={"floating_count_limit": 0})
        network_id, subnet_id = await private_subnet(client, tenant)
        r = await create(client, tenant, interfaces=[{"type": "subnet", "network_id": network_id,
                                                      "subnet_id": subnet_id, "floating_ip": {"source": "new"}}])
        assert_quota_error(r, "floating_count", usage=0, requested_usage=1, limit=0)
        assert await count_in(client, "floatingips", tenant.project_id) == 0
        r = await create(client, tenant, interfaces=[{"type": "subnet", "network_id": network_id,
                                                      "subnet_id": subnet_id}])
        assert r.status_code == 200, r.text

    async def test_usage_includes_what_exists(self, client, cleanup):
        tenant = await new_tenant(client, quota={"vm_count_limit": 2, "cpu_count_limit": 3})
        cleanup.append((tenant.project_id, await create_instance(client, tenant, flavor="g1-standard-2-4")))
        assert_quota_error(await create(client, tenant, flavor="g1-standard-2-4"), "cpu_count", usage=2,
                           requested_usage=4, limit=3)
        cleanup.append((tenant.project_id, await create_instance(client, tenant, flavor="g1-standard-1-2")))
        assert_quota_error(await create(client, tenant), "vm_count", usage=2, requested_usage=3, limit=2)

    async def test_deleting_gives_the_quota_back(self, client, cleanup):
        tenant = await new_tenant(client, quota={"vm_count_limit": 1})
        first = await create_instance(client, tenant)
        assert (await create(client, tenant)).status_code == 400
        r = await client.delete(f"/v1/instances/{tenant.project_id}/{REGION}/{first}", headers=tenant.headers)
        assert r.status_code == 200
        cleanup.append((tenant.project_id, await create_instance(client, tenant)))

    async def test_a_raised_limit_applies_at_once(self, client, cleanup):
        tenant = await new_tenant(client, quota={"vm_count_limit": 0})
        assert (await create(client, tenant)).status_code == 400
        await set_quota(client, tenant.client_id, vm_count_limit=1)
        cleanup.append((tenant.project_id, await create_instance(client, tenant)))

    async def test_quotas_are_per_client(self, client, cleanup):
        full = await new_tenant(client, quota={"vm_count_limit": 0})
        free = await new_tenant(client, quota={"vm_count_limit": 1})
        assert (await create(client, full)).status_code == 400
        cleanup.append((free.project_id, await create_instance(client, free)))

    async def test_sdk_raises_bad_request_in_strict_mode(self, app, client, cleanup):
        tenant = await new_tenant(client, quota={"vm_count_limit": 1})
        token = tenant.headers["Authorization"].split(" ", 1)[1]
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as http:
            sdk = AsyncGcore(api_key=token, base_url=BASE_URL, http_client=http, cloud_project_id=tenant.project_id,
                             cloud_region_id=REGION, max_retries=0, _strict_response_validation=True)
            body = instance_body()
            made = await sdk.cloud.instances.create(flavor=body["flavor"], interfaces=body["interfaces"],
                                                    volumes=body["volumes"], name="sdk-vm")
            TaskIDList.model_validate(made.model_dump())
            task = await sdk.cloud.tasks.get(made.tasks[0])
            (instance_id,) = task.created_resources.instances
            cleanup.append((tenant.project_id, instance_id))
            Instance.model_validate((await sdk.cloud.instances.get(instance_id)).model_dump())
            with pytest.raises(gcore.BadRequestError) as refused:
                await sdk.cloud.instances.create(flavor=body["flavor"], interfaces=body["interfaces"],
                                                 volumes=body["volumes"], name="sdk-vm-2")
        assert refused.value.status_code == 400
        assert refused.value.body["exception_class"] == "QuotaLimitExceed"
        assert await count_in(client, "instances", tenant.project_id) == 1


class TestConcurrentCreates:
    async def test_racing_creates_cannot_exceed_the_last_unit(self, client, cleanup):
        tenant = await new_tenant(client, quota={"vm_count_limit": 2})
        cleanup.append((tenant.project_id, await create_instance(client, tenant)))
        results = await asyncio.gather(*(create(client, tenant, name=f"racer-{n}") for n in range(6)))
        codes = sorted(r.status_code for r in results)
        assert codes == [200] + [400] * 5, [r.text for r in results]
        for r in results:
            if r.status_code == 400:
                assert r.json()["exception_class"] == "QuotaLimitExceed"
        listed = ok(await client.get(f"/v1/instances/{tenant.project_id}/{REGION}"))
        cleanup.extend((tenant.project_id, i["id"]) for i in listed["results"][:-1])
        assert listed["count"] == 2
        assert (await usage(client, tenant))["vm_count_usage"] == 2

    async def test_two_projects_of_one_client_share_the_quota(self, client, cleanup):
        tenant = await new_tenant(client, quota={"cpu_count_limit": 4})
        second = ok(await client.post("/v1/projects", json={"name": "second"}, headers=tenant.headers))["id"]
        other = type(tenant)(**{**tenant.__dict__, "project_id": second})
        results = await asyncio.gather(*(create(client, t, flavor="g1-standard-2-4", name=f"half-{n}")
                                         for n, t in enumerate([tenant, other, tenant, other])))
        assert sorted(r.status_code for r in results) == [200, 200, 400, 400], [r.text for r in results]
        for project_id in (tenant.project_id, second):
            cleanup.extend((project_id, i["id"]) for i in ok(await client.get(
                f"/v1/instances/{project_id}/{REGION}"))["results"])
        assert (await usage(client, tenant))["cpu_count_usage"] == 4

    async def test_racing_volume_creates(self, client):
        tenant = await new_tenant(client, quota={"volume_size_limit": 10})
        results = await asyncio.gather(*(client.post(f"/v1/volumes/{tenant.project_id}/{REGION}",
                                                     json={"source": "new-volume", "name": f"vol-{n}", "size": 4},
                                                     headers=tenant.headers) for n in range(5)))
        assert sorted(r.status_code for r in results) == [200, 200, 400, 400, 400]
        assert (await usage(client, tenant))["volume_size_usage"] == 8


class TestResizeEnforcement:
    async def test_growing_over_a_limit_is_refused_and_changes_nothing(self, client, cleanup):
        tenant = await new_tenant(client, quota={"cpu_count_limit": 3, "ram_limit": 100000})
        instance_id = await create_instance(client, tenant, flavor="g1-standard-2-4")
        cleanup.append((tenant.project_id, instance_id))
        url = f"/v1/instances/{tenant.project_id}/{REGION}/{instance_id}"
        r = await client.post(f"{url}/changeflavor", json={"flavor_id": "g1-standard-4-8"}, headers=tenant.headers)
        assert_quota_error(r, "cpu_count", usage=2, requested_usage=4, limit=3)
        instance = ok(await client.get(url))
        assert instance["flavor"]["flavor_id"] == "g1-standard-2-4" and instance["task_id"] is None
        assert instance["status"] == "ACTIVE"
        tasks = ok(await client.get("/v1/tasks", params={"project_id": tenant.project_id,
                                                         "task_type": "resize_vm"}))
        assert tasks["count"] == 0

    async def test_shrinking_and_fitting_resizes_pass(self, client, cleanup):
        tenant = await new_tenant(client, quota={"cpu_count_limit": 2, "ram_limit": 8192})
        instance_id = await create_instance(client, tenant, flavor="g1-standard-2-4")
        cleanup.append((tenant.project_id, instance_id))
        url = f"/v1/instances/{tenant.project_id}/{REGION}/{instance_id}/changeflavor"
        r = await client.post(url, json={"flavor_id": "g1-standard-2-8"}, headers=tenant.headers)
        assert r.status_code == 200, r.text
        r = await client.post(url, json={"flavor_id": "g1-standard-1-2"}, headers=tenant.headers)
        assert r.status_code == 200, r.text
        assert (await usage(client, tenant))["cpu_count_usage"] == 1


class TestAttachEnforcement:
    async def test_external_interface_over_the_limit_is_refused(self, client, cleanup):
        tenant = await new_tenant(client, quota={"external_ip_count_limit": 1})
        instance_id = await create_instance(client, tenant)
        cleanup.append((tenant.project_id, instance_id))
        url = f"/v1/instances/{tenant.project_id}/{REGION}/{instance_id}"
        r = await client.post(f"{url}/attach_interface", json={"type": "external"}, headers=tenant.headers)
        assert_quota_error(r, "external_ip_count", usage=1, requested_usage=2, limit=1)
        interfaces = ok(await client.get(f"{url}/interfaces"))
        assert interfaces["count"] == 1
        assert ok(await client.get(url))["task_id"] is None

    async def test_private_interface_takes_no_external_ip(self, client, cleanup):
        tenant = await new_tenant(client, quota={"external_ip_count_limit": 1})
        _, subnet_id = await private_subnet(client, tenant)
        instance_id = await create_instance(client, tenant)
        cleanup.append((tenant.project_id, instance_id))
        r = await client.post(f"/v1/instances/{tenant.project_id}/{REGION}/{instance_id}/attach_interface",
                              json={"type": "subnet", "subnet_id": subnet_id}, headers=tenant.headers)
        assert r.status_code == 200, r.text
