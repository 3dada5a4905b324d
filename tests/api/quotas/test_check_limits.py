"""POST /v2/instances/{p}/{r}/check_limits (endpoints.md 2.25, S14; behaviour.md 4)."""

from __future__ import annotations

import pytest

from tests.api.tenancy.helpers import (
    REGION,
    UBUNTU,
    count_in,
    create_instance,
    new_tenant,
    ok,
)

STANDARD_4_8 = {"flavor": "g1-standard-4-8"}  # 4 vCPU, 8192 MiB, 20 GiB disk


async def check(client, tenant, body, status=200):
    r = await client.post(f"/v2/instances/{tenant.project_id}/{REGION}/check_limits", json=body,
                          headers=tenant.headers)
    assert r.status_code == status, r.text
    return r.json()


class TestCheckLimits:
    async def test_everything_fits_is_an_empty_object(self, client):
        tenant = await new_tenant(client, quota={"cpu_count_limit": 4, "ram_limit": 8192, "vm_count_limit": 1})
        assert await check(client, tenant, {**STANDARD_4_8, "names": ["a"]}) == {}

    async def test_without_limits_nothing_is_exceeded(self, client):
        tenant = await new_tenant(client, quota={})
        assert await check(client, tenant, {"flavor": "g1-standard-16-64", "names": [f"n{i}" for i in range(10)],
                                            "volumes": [{"source": "new-volume", "size": 16000}]}) == {}

    async def test_only_exceeded_quotas_are_reported(self, client):
        tenant = await new_tenant(client, quota={"cpu_count_limit": 3, "ram_limit": 100000, "vm_count_limit": 5})
        assert await check(client, tenant, STANDARD_4_8) == {
            "cpu_count_limit": 3, "cpu_count_requested": 4, "cpu_count_usage": 0}

    async def test_requested_counts_every_named_instance(self, client):
        tenant = await new_tenant(client, quota={"vm_count_limit": 2, "cpu_count_limit": 8, "ram_limit": 16384})
        assert await check(client, tenant, {**STANDARD_4_8, "names": ["a", "b"]}) == {}
        assert await check(client, tenant, {**STANDARD_4_8, "name_templates": ["a-{ip_octets}"] * 3}) == {
            "vm_count_limit": 2, "vm_count_requested": 3, "vm_count_usage": 0,
            "cpu_count_limit": 8, "cpu_count_requested": 12, "cpu_count_usage": 0,
            "ram_limit": 16384, "ram_requested": 24576, "ram_usage": 0,
        }

    async def test_usage_is_what_the_client_already_has(self, client, cleanup):
        tenant = await new_tenant(client, quota={"vm_count_limit": 1, "cpu_count_limit": 100})
        cleanup.append((tenant.project_id, await create_instance(client, tenant, flavor="g1-standard-2-4")))
        assert await check(client, tenant, {"flavor": "g1-standard-1-2"}) == {
            "vm_count_limit": 1, "vm_count_requested": 1, "vm_count_usage": 1}
        report = ok(await client.get(f"/v2/regional_quotas/{tenant.client_id}/{REGION}", headers=tenant.headers))
        assert report["vm_count_usage"] == 1 and report["cpu_count_usage"] == 2

    async def test_basic_flavors_count_as_shared_vms(self, client):
        tenant = await new_tenant(client, quota={"shared_vm_count_limit": 0, "vm_count_limit": 0})
        assert await check(client, tenant, {"flavor": "g1s-shared-1-1"}) == {
            "shared_vm_count_limit": 0, "shared_vm_count_requested": 1, "shared_vm_count_usage": 0}

    async def test_volumes(self, client):
        tenant = await new_tenant(client, quota={"volume_count_limit": 1, "volume_size_limit": 30})
        body = {"flavor": "g1-standard-4-8", "names": ["a", "b"], "volumes": [
            {"source": "image", "image_id": UBUNTU},  # no size: the flavor's 20 GiB disk
            {"source": "new-volume", "size": 5, "type_name": "ssd_hiiops"},
            {"source": "existing-volume", "size": 100},  # already counted: never requested again
        ]}
        assert await check(client, tenant, body) == {
            "volume_count_limit": 1, "volume_count_requested": 4, "volume_count_usage": 0,
            "volume_size_limit": 30, "volume_size_requested": 50, "volume_size_usage": 0,
        }

    async def test_external_and_floating_ips(self, client):
        tenant = await new_tenant(client, quota={"external_ip_count_limit": 1, "floating_count_limit": 0})
        body = {"interfaces": [
            {"type": "external"}, {"type": "external", "ip_family": "ipv4"},
            {"type": "subnet", "network_id": "n", "subnet_id": "s", "floating_ip": {"source": "new"}},
            {"type": "any_subnet", "network_id": "n", "floating_ip": {"source": "existing",
                                                                     "existing_floating_id": "f"}},
        ]}
        assert await check(client, tenant, body) == {
            "external_ip_count_limit": 1, "external_ip_count_requested": 2, "external_ip_count_usage": 0,
            "floating_count_limit": 0, "floating_count_requested": 1, "floating_count_usage": 0,
        }

    async def test_the_cloud_prefix_and_an_empty_body(self, client):
        tenant = await new_tenant(client, quota={"vm_count_limit": 0})
        r = await client.post(f"/cloud/v2/instances/{tenant.project_id}/{REGION}/check_limits", json={},
                              headers=tenant.headers)
        assert r.status_code == 200 and r.json() == {}

    async def test_checking_creates_nothing(self, client):
        tenant = await new_tenant(client, quota={"vm_count_limit": 5})
        await check(client, tenant, {**STANDARD_4_8, "volumes": [{"source": "new-volume", "size": 1}]})
        assert await count_in(client, "instances", tenant.project_id) == 0
        assert await count_in(client, "volumes", tenant.project_id) == 0

    @pytest.mark.parametrize("body, status", [
        ({"flavor": "nope-1-1"}, 404),
        ({"volumes": [{"source": "image", "image_id": "00000000-0000-0000-0000-000000000000"}]}, 404),
        ({"names": ["a"], "name_templates": ["b-{ip_octets}"]}, 400),
        ({"names": []}, 400),
        ({"volumes": [{"source": "floppy"}]}, 400),
        ({"volumes": [{"source": "new-volume", "size": 0}]}, 400),
        ({"interfaces": [{"type": "bogus"}]}, 400),
        ({"interfaces": [{"floating_ip": {"source": "maybe"}}]}, 400),
        ({"flavor": 5}, 400),
    ])
    async def test_bad_input_is_4xx(self, client, body, status):
        tenant = await new_tenant(client)
        err = await check(client, tenant, body, status)
        assert err["exception_class"] in ("ValidationError", "NotFoundError") and err["request_id"]

    async def test_foreign_or_unknown_project_is_404(self, client):
        tenant = await new_tenant(client)
        other = await new_tenant(client)
        r = await client.post(f"/v2/instances/{other.project_id}/{REGION}/check_limits", json=STANDARD_4_8,
                              headers=tenant.headers)
        assert r.status_code == 404 and r.json()["exception_class"] == "NotFoundError"
        r = await client.post(f"/v2/instances/{tenant.project_id}/999/check_limits", json={}, headers=tenant.headers)
        assert r.status_code == 404
