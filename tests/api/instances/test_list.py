from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest

from tests.api.instances.test_create import create


async def make(client, project_id, name, **overrides):
    task = await create(client, project_id, name=name, **overrides)
    assert task["state"] == "FINISHED", task
    return task["created_resources"]["instances"][0]


async def listing(client, project_id, **params):
    r = await client.get(f"/v1/instances/{project_id}/1", params=params)
    assert r.status_code == 200, r.text
    return r.json()


class TestListInstances:
    async def test_count_is_total_and_pages_follow_offset(self, client, project_id):
        ids = [await make(client, project_id, f"vm-{n}") for n in range(5)]
        page = await listing(client, project_id, limit=2, offset=0, order_by="name.asc")
        assert page["count"] == 5 and [i["name"] for i in page["results"]] == ["vm-0", "vm-1"]
        last = await listing(client, project_id, limit=2, offset=4, order_by="name.asc")
        assert last["count"] == 5 and [i["id"] for i in last["results"]] == [ids[4]]
        beyond = await listing(client, project_id, limit=2, offset=10)
        assert beyond == {"count": 5, "results": []}

    async def test_order_by(self, client, project_id):
        for name in ("b-vm", "c-vm", "a-vm"):
            await make(client, project_id, name)
        names = lambda page: [i["name"] for i in page["results"]]  # noqa: E731
        assert names(await listing(client, project_id, order_by="name.desc")) == ["c-vm", "b-vm", "a-vm"]
        assert names(await listing(client, project_id, order_by="created.asc")) == ["b-vm", "c-vm", "a-vm"]
        assert names(await listing(client, project_id)) == ["a-vm", "c-vm", "b-vm"]  # default: newest first

    async def test_name_substring_and_regex(self, client, project_id):
        for name in ("web-1", "web-2", "db-1"):
            await make(client, project_id, name)
        assert (await listing(client, project_id, name="WEB"))["count"] == 2
        assert (await listing(client, project_id, name="^db-"))["count"] == 1
        assert (await listing(client, project_id, name="-1$"))["count"] == 2
        assert (await listing(client, project_id, name="100%"))["count"] == 0

    async def test_flavor_uuid_status_and_ip_filters(self, client, project_id):
        small = await make(client, project_id, "small", flavor="g1-standard-1-2")
        big = await make(client, project_id, "big", flavor="g1-standard-4-8")
        ids = lambda page: {i["id"] for i in page["results"]}  # noqa: E731
        assert ids(await listing(client, project_id, flavor_id="g1-standard-1-2")) == {small}
        assert ids(await listing(client, project_id, flavor_prefix="g1-standard-")) == {small, big}
        assert ids(await listing(client, project_id, exclude_flavor_prefix="g1-standard-4")) == {small}
        assert ids(await listing(client, project_id, uuid=big[4:14])) == {big}
        assert ids(await listing(client, project_id, status="ACTIVE")) == {small, big}
        assert ids(await listing(client, project_id, status="SHUTOFF")) == set()
        got = (await client.get(f"/v1/instances/{project_id}/1/{big}")).json()
        ip = got["addresses"]["public"][0]["addr"]
        assert ids(await listing(client, project_id, ip=ip)) == {big}
        r = await client.get(f"/v1/instances/{project_id}/1", params={"status": "SLEEPY"})
        assert r.status_code == 400

    async def test_tag_filters_go_and_python_forms(self, client, project_id):
        tagged = await make(client, project_id, "tagged", tags={"env": "prod", "team": "core"})
        await make(client, project_id, "plain")
        ids = lambda page: [i["id"] for i in page["results"]]  # noqa: E731
        assert ids(await listing(client, project_id, metadata_kv=json.dumps({"env": "prod"}))) == [tagged]
        assert ids(await listing(client, project_id, tag_key_value="team=core")) == [tagged]
        assert ids(await listing(client, project_id, metadata_v=json.dumps(["prod"]))) == [tagged]
        assert ids(await listing(client, project_id, tag_value=["nope", "core"])) == [tagged]
        assert ids(await listing(client, project_id, tag_value="x,prod")) == [tagged]
        r = await client.get(f"/v1/instances/{project_id}/1", params={"metadata_kv": "{broken"})
        assert r.status_code == 400

    async def test_changes_since_and_before(self, client, project_id):
        first = await make(client, project_id, "first")
        await asyncio.sleep(0.05)
        mark = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        await asyncio.sleep(0.05)
        second = await make(client, project_id, "second")
        ids = lambda page: {i["id"] for i in page["results"]}  # noqa: E731
        assert ids(await listing(client, project_id, **{"changes-since": mark.isoformat()})) == {second}
        assert ids(await listing(client, project_id, **{"changes-before": mark.isoformat() + "Z"})) == {first}
        r = await client.get(f"/v1/instances/{project_id}/1", params={"changes-since": "yesterday"})
        assert r.status_code == 400

    async def test_exclude_secgroup_and_interface_names(self, client, project_id):
        await make(client, project_id, "named", interfaces=[{"type": "external", "interface_name": "eth-public"}])
        assert (await listing(client, project_id, exclude_secgroup="default"))["count"] == 0
        assert (await listing(client, project_id, exclude_secgroup="other"))["count"] == 1
        plain = (await listing(client, project_id))["results"][0]["addresses"]["public"][0]
        assert plain["interface_name"] is None and "subnet_id" not in plain
        named = (await listing(client, project_id, with_interfaces_name="true"))["results"][0]
        assert named["addresses"]["public"][0]["interface_name"] == "eth-public"

    @pytest.mark.parametrize("params", [{"limit": -1}, {"limit": 1001}, {"offset": -5}, {"order_by": "size.asc"},
                                        {"limit": "ten"}])
    async def test_bad_paging_is_400(self, client, project_id, params):
        r = await client.get(f"/v1/instances/{project_id}/1", params=params)
        assert r.status_code == 400
        assert r.json()["exception_class"] == "ValidationError"

    async def test_ddos_filters_match_nothing_without_profiles(self, client, project_id):
        await make(client, project_id, "vm-1")
        assert (await listing(client, project_id, with_ddos="true", profile_name="x"))["count"] == 0
        assert (await listing(client, project_id, with_ddos="true"))["count"] == 1
