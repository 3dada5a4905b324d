"""The admin API: resellers, clients, API keys and regional quota limits (admin keys only)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from tests.api.tenancy.helpers import (
    REGION,
    auth,
    finished,
    new_reseller,
    new_tenant,
    ok,
    set_quota,
    unique,
)
from tests.conftest import ADMIN_TOKEN


async def count(client, path, **params):
    return ok(await client.get(path, params={"limit": 0, **params}))["count"]


@pytest.fixture
async def outsiders(client):
    """A client key and a reseller key: neither may call the admin API."""
    reseller = await new_reseller(client)
    tenant = await new_tenant(client, reseller_id=reseller.reseller_id)
    return {"client": tenant.headers, "reseller": reseller.headers}


class TestResellers:
    async def test_create_get_list_delete(self, client):
        name = unique("acme")
        made = ok(await client.post("/admin/v1/resellers", json={"name": name}))
        assert made["name"] == name and isinstance(made["id"], int) and made["created_at"]
        assert ok(await client.get(f"/admin/v1/resellers/{made['id']}")) == made
        listed = ok(await client.get("/admin/v1/resellers", params={"limit": 1000}))
        assert made in listed["results"] and listed["count"] >= 1
        assert (await client.delete(f"/admin/v1/resellers/{made['id']}")).status_code == 204
        assert (await client.get(f"/admin/v1/resellers/{made['id']}")).status_code == 404

    async def test_a_reseller_with_clients_cannot_be_deleted(self, client):
        reseller = await new_reseller(client)
        await new_tenant(client, reseller_id=reseller.reseller_id)
        r = await client.delete(f"/admin/v1/resellers/{reseller.reseller_id}")
        assert r.status_code == 400 and "client" in r.json()["message"]
        assert (await client.get(f"/admin/v1/resellers/{reseller.reseller_id}")).status_code == 200
        assert (await client.get("/v1/instances/search", headers=reseller.headers)).status_code == 200

    async def test_deleting_a_reseller_revokes_its_keys(self, client):
        reseller = await new_reseller(client)
        assert (await client.get("/v1/instances/search", headers=reseller.headers)).status_code == 200
        assert (await client.delete(f"/admin/v1/resellers/{reseller.reseller_id}")).status_code == 204
        assert (await client.get("/v1/instances/search", headers=reseller.headers)).status_code == 401
        assert (await client.get(f"/admin/v1/api_keys/{reseller.key_id}")).status_code == 404

    @pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x" * 256}, {"name": 5}, {"name": "a", "x": 1}])
    async def test_bad_body_is_400_and_creates_nothing(self, client, body):
        before = await count(client, "/admin/v1/resellers")
        r = await client.post("/admin/v1/resellers", json=body)
        assert r.status_code == 400 and r.json()["exception_class"] == "ValidationError"
        assert await count(client, "/admin/v1/resellers") == before

    async def test_unknown_reseller_is_404(self, client):
        assert (await client.get("/admin/v1/resellers/987654")).status_code == 404
        assert (await client.delete("/admin/v1/resellers/987654")).status_code == 404


class TestClients:
    async def test_create_with_and_without_reseller(self, client):
        reseller = await new_reseller(client)
        mine = ok(await client.post("/admin/v1/clients", json={"name": "of-reseller",
                                                              "reseller_id": reseller.reseller_id}))
        assert mine["reseller_id"] == reseller.reseller_id and mine["name"] == "of-reseller"
        direct = ok(await client.post("/admin/v1/clients", json={"name": "direct"}))
        assert direct["reseller_id"] is None
        assert ok(await client.get(f"/admin/v1/clients/{mine['id']}")) == mine
        listed = ok(await client.get("/admin/v1/clients", params={"reseller_id": reseller.reseller_id}))
        assert listed == {"count": 1, "results": [mine]}

    async def test_unknown_reseller_is_404_and_creates_nothing(self, client):
        before = await count(client, "/admin/v1/clients")
        r = await client.post("/admin/v1/clients", json={"name": "orphan", "reseller_id": 987654})
        assert r.status_code == 404 and "Reseller 987654" in r.json()["message"]
        assert await count(client, "/admin/v1/clients") == before

    async def test_a_client_with_a_project_cannot_be_deleted(self, client):
        tenant = await new_tenant(client)
        r = await client.delete(f"/admin/v1/clients/{tenant.client_id}")
        assert r.status_code == 400 and "project" in r.json()["message"]
        assert (await client.get(f"/v1/projects/{tenant.project_id}", headers=tenant.headers)).status_code == 200

    async def test_delete_after_its_projects_revokes_its_keys(self, client):
        tenant = await new_tenant(client, quota={"cpu_count_limit": 3})
        (task_id,) = ok(await client.delete(f"/v1/projects/{tenant.project_id}", headers=tenant.headers))["tasks"]
        await finished(client, task_id)
        assert (await client.delete(f"/admin/v1/clients/{tenant.client_id}")).status_code == 204
        assert ok(await client.get("/v1/tasks", params={"project_id": tenant.project_id}))["count"] == 0
        assert (await client.get(f"/admin/v1/clients/{tenant.client_id}")).status_code == 404
        assert (await client.get("/v1/projects", headers=tenant.headers)).status_code == 401
        assert (await client.get(f"/v2/regional_quotas/{tenant.client_id}/{REGION}")).status_code == 404

    async def test_unknown_client_is_404(self, client):
        assert (await client.get("/admin/v1/clients/987654")).status_code == 404
        assert (await client.delete("/admin/v1/clients/987654")).status_code == 404


class TestApiKeys:
    async def test_token_is_shown_once_and_stored_hashed(self, client, runtime):
        from cloudlet.models import api_keys

        tenant = await new_tenant(client)
        made = ok(await client.post("/admin/v1/api_keys", json={"name": "ci", "role": "client",
                                                               "client_id": tenant.client_id}))
        token = made["token"]
        assert made["role"] == "client" and made["client_id"] == tenant.client_id and made["reseller_id"] is None
        assert made["token_hint"] == token[-4:]
        shown = ok(await client.get(f"/admin/v1/api_keys/{made['id']}"))
        assert "token" not in shown and shown == {k: v for k, v in made.items() if k != "token"}
        listed = ok(await client.get("/admin/v1/api_keys", params={"client_id": tenant.client_id}))
        assert token not in str(listed) and shown in listed["results"]
        async with runtime.db.read() as conn:
            row = (await conn.execute(sa.select(api_keys).where(api_keys.c.id == made["id"]))).one()
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in str(tuple(row))
        projects = ok(await client.get("/v1/projects", headers=auth(token)))
        assert [p["id"] for p in projects["results"]] == [tenant.project_id]

    async def test_each_role(self, client):
        reseller = await new_reseller(client)
        key = ok(await client.post("/admin/v1/api_keys", json={"name": "r", "role": "reseller",
                                                              "reseller_id": reseller.reseller_id}))
        assert key["reseller_id"] == reseller.reseller_id and key["client_id"] is None
        assert (await client.get("/v1/instances/search", headers=auth(key["token"]))).status_code == 200
        assert (await client.get("/admin/v1/resellers", headers=auth(key["token"]))).status_code == 403
        admin = ok(await client.post("/admin/v1/api_keys", json={"name": "second admin", "role": "admin"}))
        assert (await client.get("/admin/v1/resellers", headers=auth(admin["token"]))).status_code == 200
        assert (await client.delete(f"/admin/v1/api_keys/{admin['id']}")).status_code == 204

    @pytest.mark.parametrize("body, status, field", [
        ({"name": "k", "role": "client"}, 400, "client_id"),
        ({"name": "k", "role": "client", "client_id": 987654}, 404, None),
        ({"name": "k", "role": "client", "client_id": 1, "reseller_id": 1}, 400, "reseller_id"),
        ({"name": "k", "role": "reseller"}, 400, "reseller_id"),
        ({"name": "k", "role": "reseller", "reseller_id": 987654}, 404, None),
        ({"name": "k", "role": "admin", "client_id": 1}, 400, "role"),
        ({"name": "k", "role": "root"}, 400, None),
        ({"role": "admin"}, 400, None),
    ])
    async def test_bad_key_is_refused_and_creates_nothing(self, client, body, status, field):
        before = await count(client, "/admin/v1/api_keys")
        r = await client.post("/admin/v1/api_keys", json=body)
        assert r.status_code == status, r.text
        if field:
            assert field in r.json()["invalid_fields"]
        assert await count(client, "/admin/v1/api_keys") == before

    async def test_revoked_key_stops_working_at_once(self, client):
        tenant = await new_tenant(client)
        assert (await client.get("/v1/projects", headers=tenant.headers)).status_code == 200
        assert (await client.delete(f"/admin/v1/api_keys/{tenant.key_id}")).status_code == 204
        r = await client.get("/v1/projects", headers=tenant.headers)
        assert r.status_code == 401
        assert (await client.delete(f"/admin/v1/api_keys/{tenant.key_id}")).status_code == 404

    async def test_an_admin_cannot_revoke_its_own_key(self, client):
        own = ok(await client.get("/admin/v1/api_keys", params={"role": "admin", "limit": 1000}))
        (mine,) = [k for k in own["results"] if k["token_hint"] == ADMIN_TOKEN[-4:]]
        r = await client.delete(f"/admin/v1/api_keys/{mine['id']}")
        assert r.status_code == 400
        assert (await client.get("/admin/v1/faults")).status_code == 200

    async def test_list_filters(self, client):
        reseller = await new_reseller(client)
        listed = ok(await client.get("/admin/v1/api_keys", params={"reseller_id": reseller.reseller_id}))
        assert [k["id"] for k in listed["results"]] == [reseller.key_id]
        roles = ok(await client.get("/admin/v1/api_keys", params={"role": "reseller", "limit": 1000}))
        assert {k["role"] for k in roles["results"]} == {"reseller"}
        assert (await client.get("/admin/v1/api_keys", params={"role": "root"})).status_code == 400


class TestRegionalQuotaLimits:
    async def test_a_new_client_has_the_catalog_limits(self, client):
        from cloudlet.seed import default_quota_limits

        tenant = await new_tenant(client)
        report = ok(await client.get(f"/v2/regional_quotas/{tenant.client_id}/{REGION}", headers=tenant.headers))
        assert {k: v for k, v in report.items() if k.endswith("_limit")} == default_quota_limits()
        assert {v for k, v in report.items() if k.endswith("_usage")} == {0}

    async def test_set_merge_and_remove_limits(self, client):
        tenant = await new_tenant(client, quota={})
        assert ok(await client.get(f"/v2/regional_quotas/{tenant.client_id}/{REGION}")) == {}
        report = await set_quota(client, tenant.client_id, cpu_count_limit=4, ram_limit=8192)
        assert report == {"cpu_count_limit": 4, "cpu_count_usage": 0, "ram_limit": 8192, "ram_usage": 0}
        report = await set_quota(client, tenant.client_id, vm_count_limit=2, ram_limit=None)
        assert report == {"cpu_count_limit": 4, "cpu_count_usage": 0, "vm_count_limit": 2, "vm_count_usage": 0}
        seen = ok(await client.get(f"/v2/regional_quotas/{tenant.client_id}/{REGION}", headers=tenant.headers))
        assert seen == report

    @pytest.mark.parametrize("body", [
        {"instance_count_limit": 1}, {"cpu_count": 1}, {"cpu_count_limit": -1}, {"cpu_count_limit": "4"},
        {"cpu_count_limit": 1.5}, {"cpu_count_limit": True}, {},
    ])
    async def test_bad_limits_are_400_and_change_nothing(self, client, body):
        tenant = await new_tenant(client, quota={"cpu_count_limit": 4})
        r = await client.put(f"/admin/v1/regional_quotas/{tenant.client_id}/{REGION}", json=body)
        assert r.status_code == 400 and r.json()["exception_class"] == "ValidationError", r.text
        seen = ok(await client.get(f"/v2/regional_quotas/{tenant.client_id}/{REGION}"))
        assert seen == {"cpu_count_limit": 4, "cpu_count_usage": 0}

    async def test_unknown_client_or_region_is_404(self, client):
        assert (await client.put(f"/admin/v1/regional_quotas/987654/{REGION}",
                                 json={"cpu_count_limit": 1})).status_code == 404
        tenant = await new_tenant(client)
        assert (await client.put(f"/admin/v1/regional_quotas/{tenant.client_id}/999",
                                 json={"cpu_count_limit": 1})).status_code == 404

    async def test_who_sees_which_quotas(self, client):
        reseller = await new_reseller(client)
        mine = await new_tenant(client, reseller_id=reseller.reseller_id, quota={"vm_count_limit": 1})
        other = await new_tenant(client, quota={"vm_count_limit": 1})
        url = f"/v2/regional_quotas/{{}}/{REGION}"
        assert (await client.get(url.format(mine.client_id), headers=reseller.headers)).status_code == 200
        assert (await client.get(url.format(other.client_id), headers=reseller.headers)).status_code == 404
        assert (await client.get(url.format(other.client_id), headers=mine.headers)).status_code == 404
        assert (await client.get(url.format(mine.client_id), headers=mine.headers)).status_code == 200


class TestAdminOnly:
    @pytest.mark.parametrize("who", ["client", "reseller"])
    @pytest.mark.parametrize("method, path, body", [
        ("POST", "/admin/v1/resellers", {"name": "sneaky"}),
        ("GET", "/admin/v1/resellers", None),
        ("POST", "/admin/v1/clients", {"name": "sneaky"}),
        ("GET", "/admin/v1/clients/1", None),
        ("POST", "/admin/v1/api_keys", {"name": "sneaky", "role": "admin"}),
        ("GET", "/admin/v1/api_keys", None),
        ("DELETE", "/admin/v1/api_keys/1", None),
        ("PUT", f"/admin/v1/regional_quotas/1/{REGION}", {"cpu_count_limit": 100000}),
        ("POST", "/admin/v1/faults", {"operation": "create_vm"}),
    ])
    async def test_other_roles_get_403_and_change_nothing(self, client, outsiders, who, method, path, body):
        before = [await count(client, p) for p in ("/admin/v1/resellers", "/admin/v1/clients", "/admin/v1/api_keys",
                                                    "/admin/v1/faults")]
        quotas = ok(await client.get(f"/v2/regional_quotas/1/{REGION}"))
        r = await client.request(method, path, json=body, headers=outsiders[who])
        assert r.status_code == 403 and r.json()["exception_class"] == "ForbiddenError"
        after = [await count(client, p) for p in ("/admin/v1/resellers", "/admin/v1/clients", "/admin/v1/api_keys",
                                                   "/admin/v1/faults")]
        assert after == before
        assert ok(await client.get(f"/v2/regional_quotas/1/{REGION}")) == quotas

    async def test_admin_api_is_in_the_openapi_document(self, client):
        paths = ok(await client.get("/openapi.json"))["paths"]
        for path in ("/admin/v1/resellers", "/admin/v1/resellers/{reseller_id}", "/admin/v1/clients",
                     "/admin/v1/clients/{client_id}", "/admin/v1/api_keys", "/admin/v1/api_keys/{key_id}",
                     "/admin/v1/regional_quotas/{client_id}/{region_id}"):
            assert path in paths, path
        assert set(paths["/admin/v1/api_keys"]) >= {"get", "post"}
        assert set(paths["/admin/v1/api_keys/{key_id}"]) >= {"get", "delete"}


class TestCli:
    def test_offline_commands(self, db_url, tmp_path):
        env = {**os.environ, "CLOUDLET_DATABASE_URL": db_url, "CLOUDLET_DATA_DIR": str(tmp_path),
               "CLOUDLET_ADMIN_API_KEY": ADMIN_TOKEN}

        def cli(*args, ok=True):
            done = subprocess.run([sys.executable, "-m", "cloudlet", "admin", *args], env=env, capture_output=True,
                                  check=False, text=True, timeout=120)
            assert (done.returncode == 0) == ok, done.stderr
            return done.stdout.strip() if ok else done.stderr.strip()

        reseller_id = int(cli("create-reseller", "--name", "cli-reseller"))
        client_id = int(cli("create-client", "--name", "cli-client", "--reseller-id", str(reseller_id)))
        token = cli("create-key", "--name", "cli-key", "--role", "client", "--client-id", str(client_id))
        assert token.startswith("cl_")
        listed = cli("list-keys", "--client-id", str(client_id))
        (line,) = listed.splitlines()
        key_id = int(line.split("\t")[0])
        assert f"client {client_id}" in line and token[-4:] in line and token not in line
        report = cli("set-quota", "--client-id", str(client_id), "cpu_count_limit=8", "ram_limit=none")
        assert '"cpu_count_limit": 8' in report
        assert "Unknown quota" in cli("set-quota", "--client-id", str(client_id), "bogus_limit=1", ok=False)
        assert "Client 987654" in cli("create-key", "--name", "x", "--client-id", "987654", ok=False)
        assert "revoked" in cli("delete-key", "--id", str(key_id))
        assert "could not be found" in cli("delete-key", "--id", str(key_id), ok=False)
