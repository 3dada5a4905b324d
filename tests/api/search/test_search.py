"""GET /v1/instances/search (endpoints.md 2.28, behaviour.md 10): across every client of a reseller."""

from __future__ import annotations

import pytest

from tests.api.tenancy.helpers import (
    REGION,
    create_instance,
    new_reseller,
    new_tenant,
    ok,
    private_subnet,
    unique,
)

URL = "/v1/instances/search"
LOCATION_KEYS = {"id", "name", "client_id", "project_id", "project_name", "region_id", "region_name"}


@pytest.fixture
async def two_resellers(client, cleanup):
    """Reseller one with two clients, reseller two with one; one instance each, all named alike."""
    tag = unique("srch")
    one, two = await new_reseller(client), await new_reseller(client)
    tenants = [await new_tenant(client, reseller_id=one.reseller_id),
               await new_tenant(client, reseller_id=one.reseller_id),
               await new_tenant(client, reseller_id=two.reseller_id)]
    made = []
    for n, tenant in enumerate(tenants):
        instance_id = await create_instance(client, tenant, name=f"{tag}-vm-{n}")
        cleanup.append((tenant.project_id, instance_id))
        made.append(instance_id)
    return tag, one, two, tenants, made


async def search(client, headers=None, **params):
    return ok(await client.get(URL, params=params, headers=headers))


def check_location(item):
    assert set(item) == LOCATION_KEYS
    assert isinstance(item["client_id"], int)
    assert isinstance(item["project_id"], str) and item["project_id"].isdigit()
    assert isinstance(item["region_id"], str) and item["region_id"] == str(REGION)
    assert item["region_name"] == "Luxembourg"


class TestSearch:
    async def test_a_reseller_sees_only_its_clients_instances(self, client, two_resellers):
        tag, one, two, tenants, made = two_resellers
        found = await search(client, one.headers, name=tag)
        assert found["count"] == 2 and {i["id"] for i in found["results"]} == set(made[:2])
        by_id = {i["id"]: i for i in found["results"]}
        for tenant, instance_id in zip(tenants[:2], made[:2], strict=True):
            item = by_id[instance_id]
            check_location(item)
            assert item["client_id"] == tenant.client_id and item["project_id"] == str(tenant.project_id)
            project = ok(await client.get(f"/v1/projects/{tenant.project_id}"))
            assert item["project_name"] == project["name"]
        other = await search(client, two.headers, name=tag)
        assert [i["id"] for i in other["results"]] == [made[2]]
        everything = await search(client, one.headers)
        assert made[2] not in str(everything) and everything["count"] == 2

    async def test_an_admin_sees_every_client(self, client, two_resellers):
        tag, *_, made = two_resellers
        found = await search(client, name=tag)
        assert found["count"] == 3 and {i["id"] for i in found["results"]} == set(made)
        for item in found["results"]:
            check_location(item)

    async def test_by_partial_id_and_name(self, client, two_resellers):
        tag, one, _, _, made = two_resellers
        assert [i["id"] for i in (await search(client, one.headers, id=made[0][4:18]))["results"]] == [made[0]]
        assert (await search(client, one.headers, id=made[2]))["count"] == 0
        found = await search(client, one.headers, name=f"{tag.upper()}-VM-1")
        assert [i["id"] for i in found["results"]] == [made[1]]
        assert (await search(client, one.headers, name=tag, id=made[1][:8]))["count"] == 1
        assert (await search(client, one.headers, name="%"))["count"] == 0
        assert (await search(client, one.headers, name="_"))["count"] == 0

    async def test_name_is_a_literal_substring_found_after_a_rename(self, client, two_resellers):
        tag, one, _, tenants, made = two_resellers
        r = await client.patch(f"/v1/instances/{tenants[1].project_id}/{REGION}/{made[1]}",
                               json={"name": f"{tag}-moved"}, headers=tenants[1].headers)
        assert r.status_code == 200, r.text
        found = await search(client, one.headers, name=f"{tag.upper()}-MOVED")
        assert [i["id"] for i in found["results"]] == [made[1]]
        assert (await search(client, one.headers, name=f"{tag}-vm-1"))["count"] == 0
        for needle in (f'"{tag}', f"{tag} NEAR vm", f"{tag}*", f"{tag}%", f"{tag} OR x"):  # FTS5 syntax is literal
            assert (await search(client, one.headers, name=needle))["count"] == 0

    async def test_by_partial_fixed_ip_not_floating(self, client, two_resellers, cleanup):
        tag, one, _, tenants, made = two_resellers

        async def public_ip(tenant, instance_id):
            found = ok(await client.get(f"/v1/instances/{tenant.project_id}/{REGION}/{instance_id}"))
            return found["addresses"]["public"][0]["addr"]

        async def ids(**params):
            return [i["id"] for i in (await search(client, one.headers, **params))["results"]]

        # a whole address is also a part of longer ones (92.38.128.5 of 92.38.128.57): look for the instance
        ip = await public_ip(tenants[0], made[0])
        assert made[0] in await ids(instance_ip=ip) and made[2] not in await ids(instance_ip=ip)
        assert made[0] in await ids(instance_ip=ip.rsplit(".", 1)[0] + ".", name=tag)
        assert made[2] not in await ids(instance_ip=await public_ip(tenants[2], made[2]))
        network_id, subnet_id = await private_subnet(client, tenants[1], "10.21.7.0/24")
        with_fip = await create_instance(client, tenants[1], name=f"{tag}-fip", interfaces=[
            {"type": "subnet", "network_id": network_id, "subnet_id": subnet_id, "floating_ip": {"source": "new"}}])
        cleanup.append((tenants[1].project_id, with_fip))
        floating = ok(await client.get(f"/v1/floatingips/{tenants[1].project_id}/{REGION}"))["results"][0]
        assert floating["fixed_ip_address"].startswith("10.21.7.")
        assert with_fip not in await ids(instance_ip=floating["floating_ip_address"])
        assert await ids(instance_ip=floating["fixed_ip_address"]) == [with_fip]
        assert await ids(instance_ip="10.21.7.") == [with_fip]

    async def test_count_is_the_total_with_pages(self, client, two_resellers):
        tag, *_ = two_resellers
        first = await search(client, name=tag, limit=2)
        rest = await search(client, name=tag, limit=2, offset=2)
        assert first["count"] == rest["count"] == 3
        assert len(first["results"]) == 2 and len(rest["results"]) == 1
        assert {i["id"] for i in first["results"]}.isdisjoint({i["id"] for i in rest["results"]})

    async def test_a_client_is_403(self, client, two_resellers):
        _, _, _, tenants, _ = two_resellers
        r = await client.get(URL, headers=tenants[0].headers)
        assert r.status_code == 403 and r.json()["exception_class"] == "ForbiddenError"

    async def test_search_is_not_read_as_a_project_id(self, client, two_resellers):
        tag, one, *_ = two_resellers
        r = await client.get(f"/cloud{URL}", params={"name": tag}, headers=one.headers)
        assert r.status_code == 200 and r.json()["count"] == 2

    async def test_deleted_instances_are_gone(self, client, two_resellers):
        tag, one, _, tenants, made = two_resellers
        r = await client.delete(f"/v1/instances/{tenants[0].project_id}/{REGION}/{made[0]}", headers=tenants[0].headers)
        assert r.status_code == 200
        assert {i["id"] for i in (await search(client, one.headers, name=tag))["results"]} == {made[1]}

    async def test_bad_paging_is_400(self, client):
        assert (await client.get(URL, params={"limit": -1})).status_code == 400
        assert (await client.get(URL, params={"offset": "x"})).status_code == 400
