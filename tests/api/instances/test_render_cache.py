"""GET and list reuse an instance's encoded rendering while its revision is unchanged; the database
bumps the revision on every change the rendering shows, whoever writes it (migration 0005)."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from cloudlet.models import api_keys, instance_tags, networks, port_security_groups, ports, security_groups, subnets
from tests.api.instances.test_create import create
from tests.api.tenancy.helpers import new_tenant


async def fetch(client, project_id, instance_id):
    one = (await client.get(f"/v1/instances/{project_id}/1/{instance_id}")).json()
    listed = (await client.get(f"/v1/instances/{project_id}/1")).json()["results"]
    (item,) = [i for i in listed if i["id"] == instance_id]
    return one, item


class TestRenderingFollowsEveryChange:
    async def test_changes_written_behind_the_api_show_at_once(self, client, project_id, runtime):
        task = await create(client, project_id, tags={"a": "1"})
        instance_id = task["created_resources"]["instances"][0]
        await fetch(client, project_id, instance_id)  # cached now
        async with runtime.db.transaction() as conn:
            await conn.execute(instance_tags.update().where(instance_tags.c.instance_id == instance_id)
                               .values(value="2"))
        one, item = await fetch(client, project_id, instance_id)
        assert one["tags"][0]["value"] == item["tags"][0]["value"] == "2"

    async def test_renamed_network_subnet_and_security_group(self, client, project_id, runtime):
        task = await create(client, project_id)
        instance_id = task["created_resources"]["instances"][0]
        one, _ = await fetch(client, project_id, instance_id)
        (net_name,) = one["addresses"]
        async with runtime.db.read() as conn:
            port = (await conn.execute(sa.select(ports).where(ports.c.instance_id == instance_id))).one()
            group_id = await conn.scalar(sa.select(port_security_groups.c.security_group_id)
                                         .where(port_security_groups.c.port_id == port.id))
        try:
            async with runtime.db.transaction() as conn:
                await conn.execute(networks.update().where(networks.c.id == port.network_id).values(name="renamed"))
                await conn.execute(subnets.update().where(subnets.c.network_id == port.network_id)
                                   .values(name=subnets.c.name + "-x"))
                await conn.execute(security_groups.update().where(security_groups.c.id == group_id)
                                   .values(name="default-x"))
            one, item = await fetch(client, project_id, instance_id)
            assert list(one["addresses"]) == list(item["addresses"]) == ["renamed"]
            assert one["addresses"]["renamed"][0]["subnet_name"].endswith("-x")
            assert one["security_groups"] == item["security_groups"] == [{"name": "default-x"}]
        finally:  # the external network is shared by every test
            async with runtime.db.transaction() as conn:
                await conn.execute(networks.update().where(networks.c.id == port.network_id).values(name=net_name))
                await conn.execute(subnets.update().where(subnets.c.network_id == port.network_id)
                                   .values(name=sa.func.substr(subnets.c.name, 1, sa.func.length(subnets.c.name) - 2)))

    async def test_api_changes_show_in_get_and_list(self, client, project_id):
        task = await create(client, project_id)
        instance_id = task["created_resources"]["instances"][0]
        await fetch(client, project_id, instance_id)
        url = f"/v1/instances/{project_id}/1/{instance_id}"
        assert (await client.patch(url, json={"name": "renamed-vm"})).status_code == 200
        r = await client.post(f"/v1/instances/{project_id}/1/{instance_id}/metadata", json={"k": "v"})
        assert r.status_code == 204
        one, item = await fetch(client, project_id, instance_id)
        assert one["name"] == item["name"] == "renamed-vm"
        assert {t["key"] for t in one["tags"]} == {t["key"] for t in item["tags"]} == {"k"}
        r = await client.post(f"/v2/instances/{project_id}/1/{instance_id}/action", json={"action": "stop"})
        assert r.status_code == 200
        one, item = await fetch(client, project_id, instance_id)
        assert one["status"] == item["status"] == "SHUTOFF"


class TestCachedGetLane:
    """The front door answers a GET from the cache only with what the endpoint itself answered."""

    async def test_serves_the_endpoints_bytes_until_the_revision_moves(self, app, client, project_id):
        task = await create(client, project_id)
        instance_id = task["created_resources"]["instances"][0]
        path = f"/v1/instances/{project_id}/1/{instance_id}"
        scope = {"type": "http", "method": "GET", "path": path, "query_string": b"",
                 "headers": [(b"authorization", client.headers["authorization"].encode())]}
        lane = app.cached_get
        assert await lane(scope) is None  # not rendered yet: the endpoint answers
        body = (await client.get(path)).content
        assert await lane(scope) == body
        assert (await client.get(path)).content == body
        assert (await client.patch(path, json={"name": "renamed-in-cache-test"})).status_code == 200
        assert await lane(scope) is None  # the revision moved on
        assert (await client.get(path)).json()["name"] == "renamed-in-cache-test"
        assert await lane(scope) is not None

    async def test_falls_through_whenever_anything_is_not_known(self, app, client, project_id):
        task = await create(client, project_id)
        instance_id = task["created_resources"]["instances"][0]
        path = f"/v1/instances/{project_id}/1/{instance_id}"
        await client.get(path)
        scope = {"type": "http", "method": "GET", "path": path, "query_string": b"",
                 "headers": [(b"authorization", client.headers["authorization"].encode())]}
        lane = app.cached_get
        assert await lane(scope) is not None
        assert await lane({**scope, "path": f"/v1/instances/{project_id}/2/{instance_id}"}) is None
        assert await lane({**scope, "path": f"/v1/instances/{project_id + 1}/1/{instance_id}"}) is None
        assert await lane({**scope, "path": path + "/interfaces"}) is None
        assert await lane({**scope, "query_string": b"x=1"}) is None
        assert await lane({**scope, "headers": []}) is None
        assert await lane({**scope, "headers": [(b"authorization", b"APIKey not-a-key")]}) is None
        assert await lane({**scope, "headers": [(b"authorization", b"Bearer " + scope["headers"][0][1][7:])]}) is None
        other = await new_tenant(client)  # a key of another client: the lane looks it up, finds no scope
        assert await lane({**scope, "headers": [(b"authorization", other.headers["Authorization"].encode())]}) is None

    async def test_a_key_revoked_elsewhere_stops_at_the_next_lookup(self, app, client):
        tenant = await new_tenant(client)
        task = await create(client, tenant.project_id)  # the admin creates it; the tenant reads it
        path = f"/v1/instances/{tenant.project_id}/1/{task['created_resources']['instances'][0]}"
        assert (await client.get(path, headers=tenant.headers)).status_code == 200
        scope = {"type": "http", "method": "GET", "path": path, "query_string": b"",
                 "headers": [(b"authorization", tenant.headers["Authorization"].encode())]}
        assert await app.cached_get(scope) is not None
        db = app.app.state.runtime.db
        async with db.transaction() as conn:  # as another process would revoke it
            await conn.execute(sa.delete(api_keys).where(api_keys.c.id == tenant.key_id))
        db.tenancy_cache.clear()  # what the ttl does there, within 2 s
        assert await app.cached_get(scope) is None
        assert (await client.get(path, headers=tenant.headers)).status_code == 401

    async def test_a_failing_lookup_leaves_the_answer_to_the_endpoint(self, app, client, project_id, monkeypatch):
        task = await create(client, project_id)
        instance_id = task["created_resources"]["instances"][0]
        path = f"/v1/instances/{project_id}/1/{instance_id}"
        body = (await client.get(path)).content

        async def unreachable(*_args):
            raise OSError("connection refused")

        monkeypatch.setattr(app.app.state.runtime.db, "read_rows", unreachable)
        scope = {"type": "http", "method": "GET", "path": path, "query_string": b"",
                 "headers": [(b"authorization", client.headers["authorization"].encode())]}
        assert await app.cached_get(scope) is None
        assert (await client.get(path)).content == body

    async def test_concurrent_gets_each_get_their_own_instance(self, app, client, project_id, monkeypatch):
        ids = [(await create(client, project_id))["created_resources"]["instances"][0] for _ in range(3)]
        bodies = {i: (await client.get(f"/v1/instances/{project_id}/1/{i}")).content for i in ids}
        db = app.app.state.runtime.db
        queries = []
        read_rows = db.read_rows

        async def counted(*args):
            queries.append(args)
            return await read_rows(*args)

        monkeypatch.setattr(db, "read_rows", counted)
        auth = [(b"authorization", client.headers["authorization"].encode())]
        paths = [f"/v1/instances/{project_id}/1/{i}" for i in ids * 10] + [f"/v1/instances/{project_id}/2/{ids[0]}"]
        answers = await asyncio.gather(*(app.cached_get({"type": "http", "method": "GET", "path": p,
                                                          "query_string": b"", "headers": auth}) for p in paths))
        assert answers == [bodies[i] for i in ids * 10] + [None]  # another region's path: not this instance
        if not db.is_sqlite:  # all asked before the query went out: they share it
            assert len(queries) == 1

    async def test_other_tenants_get_404_not_the_cached_instance(self, client, project_id):
        task = await create(client, project_id)
        instance_id = task["created_resources"]["instances"][0]
        path = f"/v1/instances/{project_id}/1/{instance_id}"
        await client.get(path)
        other = await new_tenant(client)
        response = await client.get(path, headers=other.headers)
        assert response.status_code == 404
        assert response.json()["exception_class"] == "NotFoundError"
