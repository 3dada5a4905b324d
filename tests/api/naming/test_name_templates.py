"""Reseller name templates (endpoints.md 7, 2.27; behaviour.md 5.2): the configuration API, the
effective rules of a project, and their enforcement when instances are created."""

from __future__ import annotations

import pytest

from tests.api.tenancy.helpers import (
    REGION,
    WINDOWS,
    count_in,
    create_instance,
    instance_body,
    new_reseller,
    new_tenant,
    ok,
)

URL = "/v1/reseller_name_templates"
CONFIG_KEYS = {"allow_custom_name", "allowed_bm_name_templates", "allowed_bm_name_win_templates",
               "allowed_lb_name_restriction", "allowed_lb_name_templates", "allowed_name_templates",
               "allowed_name_win_templates", "region_id", "reseller_id", "reseller_name"}
UNRESTRICTED = {"custom_name_allowed": True, "name_templates_limited": False, "allowed_name_templates": None,
                "allowed_name_win_templates": None, "allowed_bm_name_templates": None,
                "allowed_bm_name_win_templates": None, "allowed_lb_name_templates": None,
                "allowed_lb_name_restriction": None}


def rules(reseller_id, **fields):
    return {"reseller_id": reseller_id, "region_id": REGION, **fields}


async def put_rules(client, reseller_id, headers=None, **fields):
    return ok(await client.put(URL, json=rules(reseller_id, **fields), headers=headers))


async def available(client, tenant, path="reseller_name_templates"):
    if path == "reseller_name_templates":
        url = f"/v1/reseller_name_templates/{tenant.project_id}/{REGION}/available_names"
    else:
        url = f"/v1/instances/{tenant.project_id}/{REGION}/available_names"
    return ok(await client.get(url, headers=tenant.headers))


def as_sent(expected, path):
    """The deprecated instances variant leaves out what is null (Gcore's schema has no nulls there)."""
    return expected if path == "reseller_name_templates" else {k: v for k, v in expected.items() if v is not None}


@pytest.fixture
async def governed(client):
    """A reseller, one of its clients, and rules: no custom names, one Linux and one Windows template."""
    reseller = await new_reseller(client)
    tenant = await new_tenant(client, reseller_id=reseller.reseller_id)
    await put_rules(client, reseller.reseller_id, allowed_name_templates=["frn-c2-{ip_octets}"],
                    allowed_name_win_templates=["w-{one_ip_octet}"])
    return reseller, tenant


class TestPutNameTemplates:
    async def test_admin_creates_and_replaces(self, client):
        reseller = await new_reseller(client)
        made = await put_rules(client, reseller.reseller_id, allow_custom_name=True,
                               allowed_name_templates=["ed-c4-{ip_octets}", "ed-b9-{one_ip_octet}"],
                               allowed_lb_name_restriction="^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
        assert set(made) == CONFIG_KEYS
        assert made["reseller_id"] == reseller.reseller_id and made["region_id"] == REGION
        assert made["reseller_name"].startswith("reseller-") and made["allow_custom_name"] is True
        assert made["allowed_name_templates"] == ["ed-c4-{ip_octets}", "ed-b9-{one_ip_octet}"]
        assert made["allowed_name_win_templates"] == [] and made["allowed_bm_name_templates"] == []
        assert made["allowed_lb_name_restriction"] == "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
        replaced = await put_rules(client, reseller.reseller_id, allowed_name_win_templates=["w-{one_ip_octet}"])
        assert replaced["allow_custom_name"] is False and replaced["allowed_name_templates"] == []
        assert replaced["allowed_name_win_templates"] == ["w-{one_ip_octet}"]
        assert replaced["allowed_lb_name_restriction"] == ""
        mine = ok(await client.get(URL, headers=reseller.headers))
        assert mine == {"count": 1, "results": [replaced]}

    async def test_a_reseller_sets_its_own(self, client):
        reseller = await new_reseller(client)
        made = await put_rules(client, reseller.reseller_id, reseller.headers, allowed_name_templates=["a-{ip_octets}"])
        assert made["allowed_name_templates"] == ["a-{ip_octets}"]

    async def test_another_resellers_rules_are_404_and_unchanged(self, client):
        mine, theirs = await new_reseller(client), await new_reseller(client)
        await put_rules(client, theirs.reseller_id, allowed_name_templates=["t-{ip_octets}"])
        r = await client.put(URL, json=rules(theirs.reseller_id, allow_custom_name=True), headers=mine.headers)
        assert r.status_code == 404 and r.json()["exception_class"] == "NotFoundError"
        (config,) = ok(await client.get(URL, headers=theirs.headers))["results"]
        assert config["allow_custom_name"] is False and config["allowed_name_templates"] == ["t-{ip_octets}"]

    async def test_a_client_is_403(self, client):
        reseller = await new_reseller(client)
        tenant = await new_tenant(client, reseller_id=reseller.reseller_id)
        r = await client.put(URL, json=rules(reseller.reseller_id, allow_custom_name=True), headers=tenant.headers)
        assert r.status_code == 403
        assert ok(await client.get(URL, headers=reseller.headers))["count"] == 0

    @pytest.mark.parametrize("fields, status", [
        ({"reseller_id": 987654}, 404),
        ({"region_id": 999}, 404),
        ({"allowed_name_templates": ["-bad"]}, 400),
        ({"allowed_name_templates": ["x-{nope}"]}, 400),
        ({"allowed_name_win_templates": ["{ip_octets}" * 10]}, 400),
        ({"allowed_lb_name_restriction": "([unclosed"}, 400),
        ({"allow_custom_name": "yes"}, 400),
        ({"region_id": None}, 400),
    ])
    async def test_bad_input_is_4xx_and_changes_nothing(self, client, fields, status):
        reseller = await new_reseller(client)
        body = {**rules(reseller.reseller_id), **fields}
        r = await client.put(URL, json={k: v for k, v in body.items() if v is not None})
        assert r.status_code == status, r.text
        assert ok(await client.get(URL, headers=reseller.headers))["count"] == 0


class TestListNameTemplates:
    async def test_each_reseller_sees_its_own_and_the_admin_all(self, client):
        first, second = await new_reseller(client), await new_reseller(client)
        a = await put_rules(client, first.reseller_id, allowed_name_templates=["a-{ip_octets}"])
        b = await put_rules(client, second.reseller_id, allowed_name_templates=["b-{ip_octets}"])
        assert ok(await client.get(URL, headers=first.headers)) == {"count": 1, "results": [a]}
        assert ok(await client.get(URL, headers=second.headers)) == {"count": 1, "results": [b]}
        everything = ok(await client.get(URL))
        assert a in everything["results"] and b in everything["results"]
        assert everything["count"] == len(everything["results"])
        assert (await client.get(f"/cloud{URL}", headers=first.headers)).json()["count"] == 1

    async def test_a_client_is_403(self, client):
        tenant = await new_tenant(client)
        assert (await client.get(URL, headers=tenant.headers)).status_code == 403


class TestDeleteNameTemplates:
    async def test_delete_drops_the_restrictions(self, client, governed, cleanup):
        reseller, tenant = governed
        r = await client.delete(f"{URL}/{reseller.reseller_id}/{REGION}", headers=reseller.headers)
        assert r.status_code == 204 and not r.content
        assert await available(client, tenant) == UNRESTRICTED
        cleanup.append((tenant.project_id, await create_instance(client, tenant, name="free-name")))
        assert (await client.delete(f"{URL}/{reseller.reseller_id}/{REGION}")).status_code == 404

    async def test_another_reseller_or_a_client_cannot(self, client, governed):
        reseller, tenant = governed
        stranger = await new_reseller(client)
        assert (await client.delete(f"{URL}/{reseller.reseller_id}/{REGION}",
                                    headers=stranger.headers)).status_code == 404
        assert (await client.delete(f"{URL}/{reseller.reseller_id}/{REGION}",
                                    headers=tenant.headers)).status_code == 403
        assert ok(await client.get(URL, headers=reseller.headers))["count"] == 1

    async def test_unknown_is_404(self, client):
        reseller = await new_reseller(client)
        assert (await client.delete(f"{URL}/{reseller.reseller_id}/{REGION}")).status_code == 404
        assert (await client.delete(f"{URL}/987654/{REGION}")).status_code == 404


class TestAvailableNames:
    @pytest.mark.parametrize("path", ["reseller_name_templates", "instances"])
    async def test_governed_client_sees_its_resellers_rules(self, client, governed, path):
        _, tenant = governed
        assert await available(client, tenant, path) == as_sent({
            "custom_name_allowed": False, "name_templates_limited": True,
            "allowed_name_templates": ["frn-c2-{ip_octets}"], "allowed_name_win_templates": ["w-{one_ip_octet}"],
            "allowed_bm_name_templates": [], "allowed_bm_name_win_templates": [], "allowed_lb_name_templates": [],
            "allowed_lb_name_restriction": None,
        }, path)

    @pytest.mark.parametrize("path", ["reseller_name_templates", "instances"])
    async def test_clients_without_rules_are_unrestricted(self, client, governed, path):
        other_reseller = await new_reseller(client)
        assert await available(client, await new_tenant(client, reseller_id=other_reseller.reseller_id),
                               path) == as_sent(UNRESTRICTED, path)
        assert await available(client, await new_tenant(client), path) == as_sent(UNRESTRICTED, path)

    async def test_route_is_not_read_as_an_instance_id(self, client, governed):
        _, tenant = governed
        r = await client.get(f"/cloud/v1/instances/{tenant.project_id}/{REGION}/available_names",
                             headers=tenant.headers)
        assert r.status_code == 200 and r.json()["name_templates_limited"] is True

    @pytest.mark.parametrize("path", ["reseller_name_templates", "instances"])
    async def test_foreign_or_unknown_project_is_404(self, client, governed, path):
        _, tenant = governed
        stranger = await new_tenant(client)
        for project_id in (tenant.project_id, 987654):
            r = await client.get(f"/v1/{path}/{project_id}/{REGION}/available_names", headers=stranger.headers)
            assert r.status_code == 404


class TestNamingOnCreate:
    async def refused(self, client, tenant, message, field="name", **overrides):
        r = await client.post(f"/v2/instances/{tenant.project_id}/{REGION}", json=instance_body(**overrides),
                              headers=tenant.headers)
        assert r.status_code == 400, r.text
        err = r.json()
        assert err["exception_class"] == "ValidationError" and err["message"] == message
        assert err["invalid_fields"] == {field: [message]}
        assert await count_in(client, "instances", tenant.project_id) == 0
        assert await count_in(client, "volumes", tenant.project_id) == 0

    async def test_custom_name_is_refused(self, client, governed):
        _, tenant = governed
        await self.refused(client, tenant, "Following name templates are not allowed for this client: ['my-vm'], "
                                           "use one of ['frn-c2-{ip_octets}']", name="my-vm")

    async def test_template_not_in_the_list_is_refused(self, client, governed):
        _, tenant = governed
        await self.refused(client, tenant, "Following name templates are not allowed for this client: "
                                           "['vm-{ip_octets}'], use one of ['frn-c2-{ip_octets}']",
                           field="name_template", name=None, name_template="vm-{ip_octets}")

    async def test_missing_name_is_refused(self, client, governed):
        _, tenant = governed
        await self.refused(client, tenant, "A name template is required for this client: use one of "
                                           "['frn-c2-{ip_octets}']", name=None)

    async def test_one_bad_name_refuses_the_whole_request(self, client, governed):
        _, tenant = governed
        await self.refused(client, tenant, "Following name templates are not allowed for this client: "
                                           "['x-{ip_octets}'], use one of ['frn-c2-{ip_octets}']",
                           field="name_templates", name=None, name_templates=["frn-c2-{ip_octets}", "x-{ip_octets}"])

    async def test_allowed_template_is_rendered_from_the_ip(self, client, governed, cleanup):
        _, tenant = governed
        instance_id = await create_instance(client, tenant, name=None, name_template="frn-c2-{ip_octets}")
        cleanup.append((tenant.project_id, instance_id))
        instance = ok(await client.get(f"/v1/instances/{tenant.project_id}/{REGION}/{instance_id}"))
        octets = instance["addresses"]["public"][0]["addr"].split(".")
        assert instance["name"] == "frn-c2-" + "-".join(octets[1:])

    async def test_allow_custom_name_lets_names_through_but_not_other_templates(self, client, governed, cleanup):
        reseller, tenant = governed
        await put_rules(client, reseller.reseller_id, reseller.headers, allow_custom_name=True,
                        allowed_name_templates=["frn-c2-{ip_octets}"])
        assert (await available(client, tenant))["custom_name_allowed"] is True
        cleanup.append((tenant.project_id, await create_instance(client, tenant, name="my-own-name")))
        cleanup.append((tenant.project_id, await create_instance(client, tenant, name=None)))
        r = await client.post(f"/v2/instances/{tenant.project_id}/{REGION}",
                              json=instance_body(name=None, name_template="other-{ip_octets}"), headers=tenant.headers)
        assert r.status_code == 400 and "['other-{ip_octets}']" in r.json()["message"]

    async def test_windows_images_use_the_windows_list(self, client, governed, cleanup):
        _, tenant = governed
        windows = {"flavor": "g1w-standard-2-4", "volumes": [{"source": "image", "image_id": WINDOWS, "size": 40}],
                   "password": "Secret-Pass-123"}
        await self.refused(client, tenant, "Following name templates are not allowed for this client: "
                                           "['frn-c2-{ip_octets}'], use one of ['w-{one_ip_octet}']",
                           field="name_template", name=None, name_template="frn-c2-{ip_octets}", **windows)
        instance_id = await create_instance(client, tenant, name=None, name_template="w-{one_ip_octet}", **windows)
        cleanup.append((tenant.project_id, instance_id))
        instance = ok(await client.get(f"/v1/instances/{tenant.project_id}/{REGION}/{instance_id}"))
        assert instance["name"] == "w-" + instance["addresses"]["public"][0]["addr"].split(".")[-1]

    async def test_rules_bind_the_client_whoever_calls(self, client, governed):
        reseller, tenant = governed
        for headers in (reseller.headers, None):
            r = await client.post(f"/v2/instances/{tenant.project_id}/{REGION}", json=instance_body(name="my-vm"),
                                  headers=headers)
            assert r.status_code == 400 and r.json()["exception_class"] == "ValidationError"
        assert await count_in(client, "instances", tenant.project_id) == 0

    async def test_clients_of_other_resellers_are_free(self, client, governed, cleanup):
        other = await new_tenant(client, reseller_id=(await new_reseller(client)).reseller_id)
        cleanup.append((other.project_id, await create_instance(client, other, name="my-vm")))
        direct = await new_tenant(client)
        cleanup.append((direct.project_id, await create_instance(client, direct, name="my-vm")))


class TestNamingOnRename:
    async def test_a_governed_client_cannot_rename_to_a_custom_name(self, client, governed, cleanup):
        _, tenant = governed
        instance_id = await create_instance(client, tenant, name=None, name_template="frn-c2-{ip_octets}")
        cleanup.append((tenant.project_id, instance_id))
        url = f"/v1/instances/{tenant.project_id}/{REGION}/{instance_id}"
        before = ok(await client.get(url))["name"]
        r = await client.patch(url, json={"name": "my-vm"}, headers=tenant.headers)
        assert r.status_code == 400 and "['my-vm']" in r.json()["message"]
        assert ok(await client.get(url))["name"] == before
