from __future__ import annotations

import pytest
from gcore.types.cloud import SecurityGroup, SecurityGroupRule

from cloudlet.models import security_groups
from tests.api.networks.helpers import (
    REGION,
    count_rows,
    create_instance,
    finished,
    get_instance,
    other_project,
)


def v1(project_id: int, *rest: str) -> str:
    return "/".join([f"/v1/securitygroups/{project_id}/{REGION}", *rest])


def v2(project_id: int, *rest: str) -> str:
    return "/".join([f"/v2/security_groups/{project_id}/{REGION}", *rest])


async def create_group(client, project_id, name="web", **extra) -> str:
    return await finished(client, await client.post(v2(project_id), json={"name": name, **extra}), "security_groups")


async def get_group(client, project_id, group_id):
    r = await client.get(v1(project_id, group_id))
    assert r.status_code == 200, r.text
    SecurityGroup.model_validate(r.json())
    return r.json()


class TestCreateSecurityGroupV2:
    async def test_task_reports_the_group_with_the_default_template(self, client, project_id):
        r = await client.post(v2(project_id), json={"name": "web", "description": "front", "tags": {"a": "b"}})
        task = await finished(client, r)
        assert task["task_type"] == "create_security_group"
        (group_id,) = task["created_resources"]["security_groups"]
        g = await get_group(client, project_id, group_id)
        assert g["name"] == "web" and g["description"] == "front"
        assert g["tags_v2"] == [{"key": "a", "value": "b", "read_only": False}]
        assert sorted((r["direction"], r["ethertype"]) for r in g["security_group_rules"]) == [
            ("egress", "IPv4"), ("egress", "IPv6"), ("ingress", "IPv4"), ("ingress", "IPv6")]
        assert all(r["protocol"] is None for r in g["security_group_rules"])

    async def test_explicit_and_empty_rules(self, client, project_id):
        group_id = await create_group(client, project_id, rules=[
            {"direction": "ingress", "protocol": "tcp", "port_range_min": 80, "port_range_max": 443,
             "remote_ip_prefix": "10.0.0.0/8"}])
        (rule,) = (await get_group(client, project_id, group_id))["security_group_rules"]
        SecurityGroupRule.model_validate(rule)
        assert (rule["protocol"], rule["port_range_min"], rule["port_range_max"]) == ("tcp", 80, 443)
        assert rule["ethertype"] == "IPv4" and rule["remote_ip_prefix"] == "10.0.0.0/8"
        empty = await create_group(client, project_id, name="none", rules=[])
        assert (await get_group(client, project_id, empty))["security_group_rules"] == []

    @pytest.mark.parametrize("rule", [
        {"direction": "sideways"},
        {"protocol": "tcp"},  # no direction
        {"direction": "ingress", "protocol": "tcp", "port_range_min": 90, "port_range_max": 80},
        {"direction": "ingress", "port_range_min": 22, "port_range_max": 22},  # ports need a protocol
        {"direction": "ingress", "protocol": "tcp", "port_range_min": 1, "port_range_max": 70000},
        {"direction": "ingress", "ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"},
        {"direction": "ingress", "remote_ip_prefix": "not-a-cidr"},
        {"direction": "ingress", "protocol": "banana"},
    ])
    async def test_bad_rule_is_400_and_creates_nothing(self, client, project_id, runtime, rule):
        r = await client.post(v2(project_id), json={"name": "bad", "rules": [rule]})
        assert r.status_code == 400, r.text
        assert await count_rows(runtime, security_groups, security_groups.c.project_id == project_id,
                                security_groups.c.name == "bad") == 0

    async def test_unknown_remote_group_is_404(self, client, project_id):
        r = await client.post(v2(project_id), json={"name": "bad", "rules": [
            {"direction": "ingress", "remote_group_id": "00000000-0000-0000-0000-000000000000"}]})
        assert r.status_code == 404


class TestCreateSecurityGroupV1:
    async def test_synchronous_with_rules_and_instances(self, client, project_id):
        instance_id = await create_instance(client, project_id)
        r = await client.post(v1(project_id), json={
            "security_group": {"name": "go-made", "security_group_rules": [
                {"direction": "egress", "protocol": "any"}]},
            "instances": [instance_id]})
        assert r.status_code == 200, r.text
        g = SecurityGroup.model_validate(r.json())
        assert g.name == "go-made" and len(g.security_group_rules) == 1
        assert g.security_group_rules[0].protocol is None
        names = [s["name"] for s in (await get_instance(client, project_id, instance_id))["security_groups"]]
        assert names == ["default", "go-made"]

    async def test_unknown_instance_is_404_and_creates_nothing(self, client, project_id, runtime):
        r = await client.post(v1(project_id), json={"security_group": {"name": "ghost"}, "instances": ["nope"]})
        assert r.status_code == 404
        assert await count_rows(runtime, security_groups, security_groups.c.name == "ghost",
                                security_groups.c.project_id == project_id) == 0


class TestListSecurityGroups:
    async def test_lists_default_and_own_with_filters(self, client, project_id):
        await create_group(client, project_id, name="web", tags={"tier": "front"})
        await create_group(client, project_id, name="dbs")
        body = (await client.get(v1(project_id))).json()
        assert body["count"] == 3
        for g in body["results"]:
            SecurityGroup.model_validate(g)
        assert {g["name"] for g in body["results"]} == {"default", "web", "dbs"}
        byname = (await client.get(v1(project_id), params={"name": "dbs"})).json()
        assert [g["name"] for g in byname["results"]] == ["dbs"]
        bytag = (await client.get(v1(project_id), params={"tag_key_value": '{"tier": "front"}'})).json()
        assert [g["name"] for g in bytag["results"]] == ["web"]
        page = (await client.get(v1(project_id), params={"limit": 1, "offset": 1})).json()
        assert page["count"] == 3 and len(page["results"]) == 1


class TestGetSecurityGroup:
    async def test_unknown_and_foreign_are_404(self, client, project_id, runtime):
        group_id = await create_group(client, project_id)
        other = await other_project(runtime)
        assert (await client.get(v1(other, group_id))).status_code == 404
        assert (await client.get(v1(project_id, "missing"))).status_code == 404


class TestDeleteSecurityGroup:
    async def test_delete_is_204(self, client, project_id):
        group_id = await create_group(client, project_id)
        r = await client.delete(v1(project_id, group_id))
        assert r.status_code == 204 and r.content == b""
        assert (await client.get(v1(project_id, group_id))).status_code == 404

    async def test_group_in_use_is_409_and_stays(self, client, project_id):
        group_id = await create_group(client, project_id)
        await create_instance(client, project_id, interfaces=[{"type": "external", "security_groups": [
            {"id": group_id}]}])
        r = await client.delete(v1(project_id, group_id))
        assert r.status_code == 409
        assert "in use" in r.json()["message"]
        await get_group(client, project_id, group_id)

    async def test_unknown_and_foreign_are_404(self, client, project_id, runtime):
        group_id = await create_group(client, project_id)
        other = await other_project(runtime)
        assert (await client.delete(v1(other, group_id))).status_code == 404
        assert (await client.delete(v1(project_id, "missing"))).status_code == 404


class TestRules:
    async def test_v2_rule_tasks(self, client, project_id):
        group_id = await create_group(client, project_id, rules=[])
        r = await client.post(v2(project_id, group_id, "rules"), json={
            "direction": "ingress", "protocol": "icmp", "ethertype": "IPv4"})
        task = await finished(client, r)
        assert task["task_type"] == "create_security_group_rule"
        (rule_id,) = task["created_resources"]["security_group_rules"]
        g = await get_group(client, project_id, group_id)
        assert [x["id"] for x in g["security_group_rules"]] == [rule_id]
        assert g["revision_number"] == 1
        task = await finished(client, await client.delete(v2(project_id, group_id, "rules", rule_id)))
        assert task["task_type"] == "delete_security_group_rule"
        assert (await get_group(client, project_id, group_id))["security_group_rules"] == []

    async def test_v1_rule_create_and_delete(self, client, project_id):
        group_id = await create_group(client, project_id, rules=[])
        r = await client.post(v1(project_id, group_id, "rules"), json={
            "direction": "ingress", "protocol": "udp", "port_range_min": 53, "port_range_max": 53})
        assert r.status_code == 200, r.text
        rule = SecurityGroupRule.model_validate(r.json())
        assert rule.security_group_id == group_id and rule.port_range_min == 53
        r = await client.delete(f"/v1/securitygrouprules/{project_id}/{REGION}/{rule.id}")
        assert r.status_code == 204
        assert (await get_group(client, project_id, group_id))["security_group_rules"] == []

    async def test_bad_rule_is_400_and_adds_nothing(self, client, project_id):
        group_id = await create_group(client, project_id, rules=[])
        r = await client.post(v2(project_id, group_id, "rules"), json={"direction": "ingress",
                                                                       "port_range_min": 5, "port_range_max": 6})
        assert r.status_code == 400
        assert (await get_group(client, project_id, group_id))["security_group_rules"] == []

    async def test_unknown_group_or_rule_is_404(self, client, project_id, runtime):
        group_id = await create_group(client, project_id, rules=[])
        r = await client.post(v2(project_id, "missing", "rules"), json={"direction": "ingress"})
        assert r.status_code == 404
        assert (await client.delete(v2(project_id, group_id, "rules", "missing"))).status_code == 404
        assert (await client.delete(f"/v1/securitygrouprules/{project_id}/{REGION}/missing")).status_code == 404
        other = await other_project(runtime)
        r = await client.post(v1(other, group_id, "rules"), json={"direction": "ingress"})
        assert r.status_code == 404
