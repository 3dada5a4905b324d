from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

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


# Names the API refuses (it takes [a-zA-Z0-9 ._-]) but a name filter must still find: written straight
# into the table (as a rename, so through the name index's triggers).
ODD_NAMES = {"odd": 'db%pri_mary "q" *x* it\'s a\\b', "upper": "École-Été", "lower": "école-été",
             "cjk": "日本語サーバ"}


@pytest.fixture
async def named(client, project_id, runtime):
    """This test's instances, by a short key."""
    from cloudlet.instances import repository

    made = {key: await make(client, project_id, name) for key, name in (
        ("front", "web-frontend-01"), ("gateway", "API.Gateway web"), ("hooks", "webhooks-02"),
        ("keywords", "NEAR AND OR NOT"))}
    for key, name in ODD_NAMES.items():
        made[key] = await make(client, project_id, f"odd-{key}")
        async with runtime.db.transaction() as conn:
            await repository.rename(conn, made[key], name)
    return made


async def matching(client, project_id, named, name):
    keys = {instance_id: key for key, instance_id in named.items()}
    page = await listing(client, project_id, name=name)
    assert page["count"] == len(page["results"]), name
    return {keys[i["id"]] for i in page["results"]}


class TestNameFilter:
    """A name that is not a regex is a case-insensitive literal substring, whether the name's trigram
    index finds it (3 characters or more) or not (fewer)."""

    async def test_substrings(self, client, project_id, named):
        expected = {
            "web": {"front", "gateway", "hooks"},  # at the start, at the end
            "FRONT": {"front"}, "-01": {"front"},  # in the middle in another case, at the end
            "w": {"front", "gateway", "hooks"}, "Ga": {"gateway"},
            # LIKE's and FTS5's syntax is literal: % _ " * (and no regex: * and \ here make invalid ones)
            "%pri_": {"odd"}, "%": {"odd"}, "_": {"odd"}, '"q"': {"odd"}, '"': {"odd"}, "*x*": {"odd"},
            "it's": {"odd"}, "s a\\": {"odd"}, "100%": set(),
            "AND": {"keywords"}, "or not": {"keywords"}, "NEAR": {"keywords"},
            "web-frontend-01" * 5: set(),  # longer than any name
            "語サー": {"cjk"}, "日本": {"cjk"},
        }
        assert {needle: await matching(client, project_id, named, needle) for needle in expected} == expected

    async def test_non_ascii_letters_fold_as_the_backends_ilike_does(self, client, project_id, named, runtime):
        # SQLite's ILIKE folds ASCII letters only, PostgreSQL's the others too (as the database's locale
        # does); SQLite's trigram index folds them all, but never widens what matches
        async with runtime.db.read() as conn:
            folds = bool(await conn.scalar(sa.select(sa.literal("É").ilike("é"))))
        both = {"upper", "lower"}
        expected = {"cole-": both, "école": {"lower"}, "ÉCOLE": {"upper"}, "été": {"lower"}, "ÉTÉ": set(),
                    "É": {"upper"}}
        if folds:
            expected = {needle: both for needle in expected}
        assert {needle: await matching(client, project_id, named, needle) for needle in expected} == expected

    @pytest.mark.parametrize("few_names", [None, 0])  # 0: every needle is too common to look up by index
    async def test_the_same_instances_as_ilike_for_any_needle(self, project_id, named, runtime, few_names,
                                                              monkeypatch):
        from cloudlet.core.sql import like_escape
        from cloudlet.instances import repository
        from cloudlet.models import instances

        if few_names is not None:
            monkeypatch.setattr(repository, "_FEW_NAMES", few_names)
        rng = random.Random(6)
        names = ["web-frontend-01", "API.Gateway web", "webhooks-02", "NEAR AND OR NOT", *ODD_NAMES.values()]
        needles = set()
        while len(needles) < 300:
            if rng.random() < 0.6:  # a part of a name, some letters in the other case
                name = rng.choice(names)
                start = rng.randrange(len(name))
                part = name[start:rng.randint(start + 1, min(len(name), start + 8))]
                needle = "".join(c.swapcase() if rng.random() < 0.3 else c for c in part)
            else:
                needle = "".join(rng.choice("wWeEbB-_%\"*'\\ .éÉ語NRO0x") for _ in range(rng.randint(1, 6)))
            if not repository._is_regex(needle):
                needles.add(needle)
        scope = SimpleNamespace(project_id=project_id, region_id=1)
        async with runtime.db.read() as conn:
            for needle in sorted(needles):
                rows, total = await repository.list_rows(conn, scope, repository.InstanceFilters(name=needle),
                                                         order_by="created.asc", limit=100, offset=0)
                before = await conn.execute(sa.select(instances.c.id).where(  # the filter as it was
                    instances.c.project_id == project_id,
                    instances.c.name.ilike(f"%{like_escape(needle)}%", escape="\\")))
                expected = {i for (i,) in before}
                assert ({r.id for r in rows}, total) == (expected, len(expected)), needle

    async def test_a_nul_is_no_500(self, client, project_id, named):
        # (FTS5 cannot parse a NUL; PostgreSQL refuses it in text with a 400, as before)
        r = await client.get(f"/v1/instances/{project_id}/1", params={"name": "web\x00"})
        assert r.status_code in (200, 400), r.text

    async def test_renamed_and_deleted_instances(self, client, project_id, named, runtime, backend):
        url = f"/v1/instances/{project_id}/1"
        assert (await client.patch(f"{url}/{named['front']}", json={"name": "renamed-alpha"})).status_code == 200
        assert (await client.delete(f"{url}/{named['gateway']}")).status_code == 200
        assert await matching(client, project_id, named, "ALPHA") == {"front"}
        assert await matching(client, project_id, named, "frontend") == set()
        assert await matching(client, project_id, named, "gateway") == set()
        assert await matching(client, project_id, named, "web") == {"hooks"}
        if backend == "sqlite":  # the index agrees with the table ('database disk image is malformed' if not)
            async with runtime.db.transaction() as conn:
                await conn.execute(sa.text(
                    "INSERT INTO instances_name_trgm(instances_name_trgm, rank) VALUES ('integrity-check', 1)"))

    async def test_count_is_exact_with_pages(self, client, project_id, named):
        pages = [await listing(client, project_id, name="WEB", limit=2, offset=offset, order_by="name.asc")
                 for offset in (0, 2)]
        assert [p["count"] for p in pages] == [3, 3] and [len(p["results"]) for p in pages] == [2, 1]
        keys = {instance_id: key for key, instance_id in named.items()}
        assert {keys[i["id"]] for p in pages for i in p["results"]} == {"front", "gateway", "hooks"}
