"""Values no database column can hold are bad input (400), never a 500: found by the fuzzer (tests/fuzz)."""

from __future__ import annotations

import pytest

HUGE = 2**70


class TestUnstorableValues:
    @pytest.mark.parametrize("path", [f"/v1/instances/{HUGE}/1", f"/v1/instances/1/{HUGE}", f"/v1/projects/{HUGE}",
                                      f"/v1/volumes/{2**40}/1", f"/v1/ssh_keys/{2**40}"])
    async def test_ids_beyond_the_column_type(self, client, path):
        r = await client.get(path)
        assert r.status_code in (400, 404), r.text
        assert {"exception_class", "message", "request_id"} <= r.json().keys()

    async def test_nul_in_a_query_filter(self, client, project_id):
        r = await client.get(f"/v1/volumes/{project_id}/1", params={"instance_id": "a\x00b"})
        assert r.status_code in (200, 400), r.text

    async def test_nul_in_a_body(self, client, project_id):
        r = await client.post(f"/v1/subnets/{project_id}/1", json={"name": "nul", "cidr": "10.1.0.0/24",
                                                                     "network_id": "net\x00work"})
        assert r.status_code in (400, 404), r.text
        r = await client.post(f"/v1/securitygroups/{project_id}/1", json={"security_group": {"name": "nul-sg"},
                                                                          "instances": ["a\x00"]})
        assert r.status_code in (400, 404), r.text
        assert (await client.get(f"/v1/securitygroups/{project_id}/1")).json()["count"] == 1  # the default only

    async def test_empty_port_id_of_a_new_floating_ip(self, client, project_id):
        r = await client.post(f"/v1/floatingips/{project_id}/1", json={"port_id": ""})
        assert r.status_code == 404, r.text
        assert (await client.get(f"/v1/floatingips/{project_id}/1")).json()["count"] == 0
