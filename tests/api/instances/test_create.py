from __future__ import annotations

import ipaddress

import pytest

UBUNTU = "3a4b3c7e-7a0c-4c51-9f7e-0b6f9d1c0001"
WINDOWS = "3a4b3c7e-7a0c-4c51-9f7e-0b6f9d1c0006"
PUBLIC_V4 = ipaddress.ip_network("92.38.128.0/20")


def body(**overrides):
    base = {
        "flavor": "g1-standard-2-4",
        "interfaces": [{"type": "external"}],
        "volumes": [{"source": "image", "image_id": UBUNTU, "size": 10}],
        "name": "web-1",
    }
    base.update(overrides)
    return base


async def create(client, project_id, **overrides):
    r = await client.post(f"/cloud/v2/instances/{project_id}/1", json=body(**overrides))
    assert r.status_code == 200, r.text
    (task_id,) = r.json()["tasks"]
    task = (await client.get(f"/cloud/v1/tasks/{task_id}")).json()
    return task


class TestCreateInstance:
    async def test_create_finishes_with_one_instance(self, client, project_id):
        task = await create(client, project_id)
        assert task["state"] == "FINISHED", task
        assert task["task_type"] == "create_vm"
        (instance_id,) = task["created_resources"]["instances"]
        assert len(task["created_resources"]["volumes"]) == 1
        assert task["created_resources"]["networks"] == []
        inst = (await client.get(f"/v1/instances/{project_id}/1/{instance_id}")).json()
        assert inst["status"] == "ACTIVE" and inst["vm_state"] == "active"
        assert inst["task_id"] is None and inst["creator_task_id"] == task["id"]
        (addr,) = inst["addresses"]["public"]
        assert ipaddress.ip_address(addr["addr"]) in PUBLIC_V4
        assert addr["subnet_name"] == "public-v4"
        assert inst["security_groups"] == [{"name": "default"}]

    async def test_name_template_rendered_from_ip(self, client, project_id):
        task = await create(client, project_id, name=None, name_template="vm-{two_ip_octets}")
        inst = (await client.get(f"/v1/instances/{project_id}/1/{task['created_resources']['instances'][0]}")).json()
        octets = inst["addresses"]["public"][0]["addr"].split(".")
        assert inst["name"] == f"vm-{octets[2]}-{octets[3]}"

    async def test_go_names_create_one_task_per_instance(self, client, project_id):
        r = await client.post(f"/v2/instances/{project_id}/1", json=body(name=None, names=["a-1", "b-2"]))
        assert r.status_code == 200
        assert len(r.json()["tasks"]) == 2
        listed = (await client.get(f"/v1/instances/{project_id}/1", params={"order_by": "name.asc"})).json()
        assert [i["name"] for i in listed["results"]] == ["a-1", "b-2"]

    @pytest.mark.parametrize(
        "overrides, status",
        [
            ({"flavor": "nope-1-1"}, 404),
            ({"flavor": "g2-standard-32-128"}, 400),
            ({"interfaces": []}, 400),
            ({"volumes": [{"source": "image"}]}, 400),
            ({"volumes": [{"source": "image", "image_id": "00000000-0000-0000-0000-000000000000"}]}, 404),
            ({"volumes": [{"source": "image", "image_id": UBUNTU, "size": 1}]}, 400),
            ({"volumes": [{"source": "new-volume", "size": 10}]}, 400),
            ({"volumes": [{"source": "snapshot", "snapshot_id": "x", "size": 10}]}, 400),
            ({"interfaces": [{"type": "subnet", "network_id": "n", "subnet_id": "s"}]}, 404),
            ({"name": "-bad"}, 400),
            ({"name_template": "x-{nope}"}, 400),
            ({"ssh_key_name": "missing"}, 404),
            ({"volumes": [{"source": "image", "image_id": WINDOWS, "size": 40}]}, 400),
            ({"interfaces": [{"type": "bogus"}]}, 400),
            ({"tags": {"bad key": "v"}}, 400),
            ({"tags": {f"k{n}": "v" for n in range(101)}}, 400),
        ],
    )
    async def test_bad_input_is_4xx_and_creates_nothing(self, client, project_id, overrides, status):
        r = await client.post(f"/v2/instances/{project_id}/1", json=body(**overrides))
        assert r.status_code == status, r.text
        err = r.json()
        assert err["exception_class"] and err["message"] and err["request_id"]
        assert r.headers["x-request-id"] == err["request_id"]
        listed = (await client.get(f"/v1/instances/{project_id}/1")).json()
        assert listed["count"] == 0
        vols = await client.get(f"/v1/volumes/{project_id}/1")
        if vols.status_code == 200:
            assert vols.json()["count"] == 0

    async def test_malformed_json_is_400(self, client, project_id):
        r = await client.post(f"/v2/instances/{project_id}/1", content=b"{not json",
                              headers={"content-type": "application/json"})
        assert r.status_code == 400
        assert r.json()["exception_class"] == "ValidationError"

    async def test_unknown_project_is_404(self, client):
        r = await client.post("/v2/instances/999999/1", json=body())
        assert r.status_code == 404
        assert r.json()["exception_class"] == "NotFoundError"

    async def test_no_token_is_401(self, client, project_id):
        r = await client.get(f"/v1/instances/{project_id}/1", headers={"Authorization": ""})
        assert r.status_code == 401
        r = await client.get(f"/v1/instances/{project_id}/1", headers={"Authorization": "APIKey wrong"})
        assert r.status_code == 401
        r = await client.get(f"/v1/instances/{project_id}/1", headers={"Authorization": "apikey test-admin-token"})
        assert r.status_code == 200
