from __future__ import annotations

import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from gcore.types.cloud import SSHKey, SSHKeyCreated

from tests.api.projects.tenancy import new_client

# Made with ``ssh-keygen -t ed25519``; ``ssh-keygen -l -E md5`` prints the fingerprint.
ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP+7Nctfc7DleW5sPsuHWYnt6/gHWj9N9ercoQW8OwPO me@host"
ED25519_MD5 = "53:16:e5:95:34:61:c5:fd:8e:81:34:ec:2b:64:c3:4c"
RSA_1024 = ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQD7bXQ6rgw5XnXMXr09YPptmpaUKIEMehqFp0yJua/GTNpJf1Ra0oaC05yWWh2Cvm"
            "eXgi89ZE3B9AAR/8z3PTnb/NJCAAX70nRZR/IBIkEmD2UQ2Fi6+VaxRV3FIVFg9CXMvKZ+gqWDEWJLYiSP5YY8oc3hQjhNppY0Uhvl8a"
            "+lFQ== root@vm")


def openssh_public(private_key) -> str:
    return private_key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                 serialization.PublicFormat.OpenSSH).decode()


async def create(client, project_id, **body):
    r = await client.post(f"/cloud/v1/ssh_keys/{project_id}", json=body)
    assert r.status_code == 200, r.text
    return r.json()


async def count(client, project_id):
    return (await client.get(f"/v1/ssh_keys/{project_id}")).json()["count"]


class TestCreateSSHKey:
    async def test_upload_a_public_key(self, client, project_id):
        key = await create(client, project_id, name="laptop", public_key=ED25519)
        SSHKeyCreated.model_validate(key)
        assert key["fingerprint"] == ED25519_MD5
        assert key["public_key"] == ED25519 and key["private_key"] is None
        assert key["project_id"] == project_id and key["state"] == "ACTIVE" and key["shared_in_project"] is True
        got = (await client.get(f"/v1/ssh_keys/{project_id}/{key['id']}")).json()
        assert got["fingerprint"] == ED25519_MD5 and got["name"] == "laptop"

    async def test_generate_a_pair_when_no_public_key(self, client, project_id):
        key = await create(client, project_id, name="generated", shared_in_project=False)
        SSHKeyCreated.model_validate(key)
        private = serialization.load_ssh_private_key(key["private_key"].encode(), password=None)
        assert openssh_public(private) == key["public_key"]
        assert key["public_key"].startswith("ssh-ed25519 ") and key["shared_in_project"] is False
        got = (await client.get(f"/v1/ssh_keys/{project_id}/{key['id']}")).json()
        assert got.get("private_key") is None and got["public_key"] == key["public_key"]
        assert got["fingerprint"] == key["fingerprint"]

    @pytest.mark.parametrize("kind", ["rsa-2048", "ecdsa-p384"])
    async def test_rsa_and_ecdsa_keys_are_accepted(self, client, project_id, kind):
        private = (rsa.generate_private_key(public_exponent=65537, key_size=2048) if kind == "rsa-2048"
                   else ec.generate_private_key(ec.SECP384R1()))
        public = openssh_public(private)
        key = await create(client, project_id, name="other-kind", public_key=f"  {public}   a comment\n")
        assert key["public_key"] == f"{public} a comment"
        assert len(key["fingerprint"].split(":")) == 16

    @pytest.mark.parametrize("body", [
        {"name": "bad", "public_key": "ssh-ed25519 AAAA"},
        {"name": "bad", "public_key": "not a key"},
        {"name": "bad", "public_key": "ssh-ed25519"},
        {"name": "bad", "public_key": "ssh-rsa " + ED25519.split()[1]},
        {"name": "bad", "public_key": "ssh-ed25519 !!!notbase64!!!"},
        {"name": "bad", "public_key": ED25519 + "\n" + ED25519},
        {"name": "bad", "public_key": "ssh-dss AAAAB3NzaC1kc3MAAACBAP"},
        {"name": "bad", "public_key": RSA_1024},
        {"name": "x", "public_key": ED25519},
        {"name": "-leading-dash", "public_key": ED25519},
        {"public_key": ED25519},
        {"name": "ok-name", "public_key": 42},
    ])
    async def test_bad_input_is_400_and_creates_nothing(self, client, project_id, body):
        r = await client.post(f"/v1/ssh_keys/{project_id}", json=body)
        assert r.status_code == 400, r.text
        assert r.json()["exception_class"] == "ValidationError"
        assert await count(client, project_id) == 0

    async def test_duplicate_name_is_a_conflict(self, client, project_id):
        await create(client, project_id, name="dup", public_key=ED25519)
        r = await client.post(f"/v1/ssh_keys/{project_id}", json={"name": "dup"})
        assert r.status_code == 409
        assert "already exists" in r.json()["message"]
        assert await count(client, project_id) == 1

    async def test_same_name_in_another_project_is_fine(self, client, runtime, project_id):
        from cloudlet.projects.service import create_project

        async with runtime.db.transaction() as conn:
            other = (await create_project(conn, client_id=1, name=f"other-{uuid.uuid4().hex[:8]}")).id
        await create(client, project_id, name="shared-name", public_key=ED25519)
        await create(client, other, name="shared-name", public_key=ED25519)

    async def test_unknown_or_foreign_project_is_404(self, client, runtime, project_id):
        r = await client.post("/v1/ssh_keys/999999", json={"name": "key", "public_key": ED25519})
        assert r.status_code == 404
        _, headers = await new_client(runtime)
        r = await client.post(f"/v1/ssh_keys/{project_id}", json={"name": "key", "public_key": ED25519},
                              headers=headers)
        assert r.status_code == 404
        assert await count(client, project_id) == 0


class TestListSSHKeys:
    async def test_name_filter_order_and_pages(self, client, project_id):
        for name in ("web-b", "db-a", "web-a"):
            await create(client, project_id, name=name, public_key=ED25519)
        body = (await client.get(f"/v1/ssh_keys/{project_id}")).json()
        assert body["count"] == 3
        assert [k["name"] for k in body["results"]] == ["web-a", "db-a", "web-b"]  # newest first
        for k in body["results"]:
            SSHKey.model_validate(k)
        names = (await client.get(f"/v1/ssh_keys/{project_id}", params={"order_by": "name.asc"})).json()
        assert [k["name"] for k in names["results"]] == ["db-a", "web-a", "web-b"]
        web = (await client.get(f"/v1/ssh_keys/{project_id}", params={"name": "WEB", "order_by": "name.desc"})).json()
        assert web["count"] == 2 and [k["name"] for k in web["results"]] == ["web-b", "web-a"]
        page = (await client.get(f"/v1/ssh_keys/{project_id}", params={"order_by": "name.asc", "limit": 1,
                                                                       "offset": 1})).json()
        assert page["count"] == 3 and [k["name"] for k in page["results"]] == ["web-a"]

    async def test_default_page_is_ten(self, client, project_id):
        for n in range(12):
            await create(client, project_id, name=f"key-{n:02d}", public_key=ED25519)
        body = (await client.get(f"/v1/ssh_keys/{project_id}")).json()
        assert body["count"] == 12 and len(body["results"]) == 10

    @pytest.mark.parametrize("params", [{"limit": 1001}, {"offset": -1}, {"order_by": "fingerprint.asc"}])
    async def test_bad_query_is_400(self, client, project_id, params):
        assert (await client.get(f"/v1/ssh_keys/{project_id}", params=params)).status_code == 400

    async def test_client_sees_only_its_projects(self, client, runtime, project_id):
        await create(client, project_id, name="admins", public_key=ED25519)
        _, headers = await new_client(runtime)
        assert (await client.get(f"/v1/ssh_keys/{project_id}", headers=headers)).status_code == 404
        assert (await client.get("/v1/ssh_keys/999999")).status_code == 404


class TestGetSSHKey:
    async def test_key_of_another_project_is_404(self, client, project_id):
        key = await create(client, project_id, name="mine", public_key=ED25519)
        assert (await client.get(f"/v1/ssh_keys/1/{key['id']}")).status_code == 404
        assert (await client.get(f"/v1/ssh_keys/{project_id}/{uuid.uuid4()}")).status_code == 404
        assert (await client.get(f"/v1/ssh_keys/{project_id}/{key['id']}")).status_code == 200


class TestDeleteSSHKey:
    async def test_delete(self, client, project_id):
        key = await create(client, project_id, name="gone", public_key=ED25519)
        r = await client.delete(f"/v1/ssh_keys/{project_id}/{key['id']}")
        assert r.status_code == 204 and r.content == b""
        assert (await client.get(f"/v1/ssh_keys/{project_id}/{key['id']}")).status_code == 404
        assert (await client.delete(f"/v1/ssh_keys/{project_id}/{key['id']}")).status_code == 404
        await create(client, project_id, name="gone", public_key=ED25519)  # the name is free again

    async def test_delete_in_another_project_is_404_and_keeps_the_key(self, client, runtime, project_id):
        key = await create(client, project_id, name="kept", public_key=ED25519)
        assert (await client.delete(f"/v1/ssh_keys/1/{key['id']}")).status_code == 404
        _, headers = await new_client(runtime)
        assert (await client.delete(f"/v1/ssh_keys/{project_id}/{key['id']}", headers=headers)).status_code == 404
        assert await count(client, project_id) == 1


class TestSSHKeysWithSdk:
    async def test_create_list_get_delete_in_strict_mode(self, sdk, project_id):
        created = await sdk.cloud.ssh_keys.create(name="sdk-key", public_key=ED25519)
        assert created.fingerprint == ED25519_MD5 and created.private_key is None
        generated = await sdk.cloud.ssh_keys.create(name="sdk-generated")
        assert generated.private_key and generated.private_key.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
        names = [k.name async for k in await sdk.cloud.ssh_keys.list(limit=1)]
        assert sorted(names) == ["sdk-generated", "sdk-key"]
        assert (await sdk.cloud.ssh_keys.get(ssh_key_id=created.id)).name == "sdk-key"
        await sdk.cloud.ssh_keys.delete(ssh_key_id=created.id)
        assert (await sdk.cloud.ssh_keys.list()).count == 1
