"""App templates: GET /v1/apptemplates (endpoints.md section 3) and instance create from a template volume."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import yaml

from cloudlet.apptemplates import service as apptemplate_service
from cloudlet.core.errors import ValidationError
from tests.api.instances import test_metadata
from tests.api.instances.test_create import UBUNTU, body
from tests.upstream_schema import check

project_id = test_metadata.project_id  # a fresh project, its instances deleted afterwards

# Gcore sends os_version as a string ("20.04", gcorelabscloud-go's fixture); its OpenAPI says number.
OS_VERSION_AS_SENT = {"AppTemplateSerializer": {"os_version": {"type": "string"}}}
WORDPRESS = {"source": "apptemplate", "apptemplate_id": "wordpress"}


def template_volume(template_id: str, **extra: Any) -> list[dict[str, Any]]:
    return [{"source": "apptemplate", "apptemplate_id": template_id, **extra}]


async def create_from_template(client: httpx.AsyncClient, project_id: int, **overrides: Any) -> httpx.Response:
    return await client.post(f"/cloud/v2/instances/{project_id}/1", json=body(**overrides))


async def finished_instance(client: httpx.AsyncClient, project_id: int, **overrides: Any) -> dict[str, Any]:
    r = await create_from_template(client, project_id, **overrides)
    assert r.status_code == 200, r.text
    (task_id,) = r.json()["tasks"]
    task = (await client.get(f"/v1/tasks/{task_id}")).json()
    assert task["state"] == "FINISHED", task
    instance_id = task["created_resources"]["instances"][0]
    return (await client.get(f"/v1/instances/{project_id}/1/{instance_id}")).json()  # type: ignore[no-any-return]


async def security_groups_named(runtime: Any, project_id: int, name: str) -> list[Any]:
    import sqlalchemy as sa

    from cloudlet.models import security_group_rules, security_groups

    async with runtime.db.read() as conn:
        groups = (await conn.execute(sa.select(security_groups).where(security_groups.c.project_id == project_id,
                                                                      security_groups.c.name == name))).all()
        out = []
        for g in groups:
            rules = (await conn.execute(sa.select(security_group_rules)
                                        .where(security_group_rules.c.security_group_id == g.id))).all()
            out.append((g, rules))
    return out


class TestListAppTemplates:
    async def test_lists_the_catalog(self, client, project_id):
        r = await client.get(f"/cloud/v1/apptemplates/{project_id}/1")
        assert r.status_code == 200, r.text
        data = r.json()
        check("AppTemplateCollectionSerializer", data, patch=OS_VERSION_AS_SENT)
        ids = [t["id"] for t in data["results"]]
        assert data["count"] == len(ids) >= 5
        assert {"docker", "wordpress", "gitlab-runner"} <= set(ids)
        for t in data["results"]:
            assert t["region_id"] == 1
            assert t["image_name"] and t["os_version"] and t["min_disk"] > 0
            for item in t["app_config"]:
                assert set(item) - {"default"} == {"name", "label", "description", "type", "required"}

    async def test_unknown_project_is_404(self, client):
        assert (await client.get("/v1/apptemplates/999999/1")).status_code == 404

    async def test_unknown_region_is_404(self, client, project_id):
        assert (await client.get(f"/v1/apptemplates/{project_id}/999")).status_code == 404

    def test_every_template_uses_an_image_of_the_seed_catalog(self):
        from cloudlet.seed import CATALOG

        images = {i["name"] for i in yaml.safe_load(CATALOG.read_text())["images"]}
        for template in apptemplate_service.list_templates():
            assert template["image_name"] in images, template["id"]
            assert all({"protocol", "port"} == set(p) for p in template.get("ports", []))


class TestGetAppTemplate:
    async def test_get_one(self, client, project_id):
        r = await client.get(f"/v1/apptemplates/{project_id}/1/wordpress")
        assert r.status_code == 200, r.text
        t = r.json()
        check("AppTemplateSerializer", t, patch=OS_VERSION_AS_SENT)
        assert t["id"] == "wordpress" and t["image_name"] == "ubuntu-22.04-x64"
        config = {c["name"]: c for c in t["app_config"]}
        assert config["wordpress_admin_email"]["required"] is True and "default" not in config["wordpress_admin_email"]
        assert config["wordpress_site_title"]["default"] == "My WordPress site"
        assert "ports" not in t  # cloudlet's own field stays off the wire

    async def test_unknown_template_is_404(self, client, project_id):
        r = await client.get(f"/v1/apptemplates/{project_id}/1/nope")
        assert r.status_code == 404
        assert r.json()["exception_class"] == "NotFoundError"


class TestCreateFromAppTemplate:
    async def test_volume_is_built_from_the_template_image(self, client, project_id, runtime):
        inst = await finished_instance(client, project_id, volumes=template_volume("wordpress"),
                                       configuration={"wordpress_admin_email": "ops@example.com"})
        assert inst["status"] == "ACTIVE"
        from cloudlet.volumes import repository as volume_repository

        async with runtime.db.read() as conn:
            (volume,) = await volume_repository.attached_to(conn, [inst["id"]])
        assert volume.image_id == UBUNTU and volume.bootable and volume.boot_index == 0
        assert volume.size == 20  # the template's min_disk, over the flavor's 10
        assert volume.image_metadata["image_name"] == "ubuntu-22.04-x64"
        assert inst["security_groups"] == [{"name": "default"}]
        assert await security_groups_named(runtime, project_id, "wordpress-app-ports") == []

    async def test_allow_app_ports_opens_the_template_ports(self, client, project_id, runtime):
        inst = await finished_instance(client, project_id, volumes=template_volume("wordpress", size=30),
                                       configuration={"wordpress_admin_email": "ops@example.com"},
                                       allow_app_ports=True)
        assert inst["security_groups"] == [{"name": "default"}, {"name": "wordpress-app-ports"}]
        ((_group, rules),) = await security_groups_named(runtime, project_id, "wordpress-app-ports")
        opened = {(r.direction, r.ethertype, r.protocol, r.port_range_min, r.port_range_max) for r in rules}
        assert opened == {("ingress", e, "tcp", p, p) for e in ("IPv4", "IPv6") for p in (22, 80, 443)}
        again = await finished_instance(client, project_id, name="web-2", volumes=template_volume("wordpress"),
                                        configuration={"wordpress_admin_email": "ops@example.com"},
                                        allow_app_ports=True)
        assert {"name": "wordpress-app-ports"} in again["security_groups"]
        assert len(await security_groups_named(runtime, project_id, "wordpress-app-ports")) == 1

    async def test_several_instances_share_one_port_group(self, client, project_id, runtime):
        r = await create_from_template(client, project_id, name=None, names=["app-1", "app-2"],
                                       volumes=template_volume("grafana"), allow_app_ports=True,
                                       configuration={"grafana_admin_password": "s3cret"})
        assert r.status_code == 200, r.text
        listed = (await client.get(f"/v1/instances/{project_id}/1")).json()
        assert listed["count"] == 2
        for inst in listed["results"]:
            assert {"name": "grafana-app-ports"} in inst["security_groups"]
        ((_group, rules),) = await security_groups_named(runtime, project_id, "grafana-app-ports")
        assert {r.port_range_min for r in rules} == {22, 3000}

    async def test_template_without_required_parameters_needs_no_configuration(self, client, project_id):
        inst = await finished_instance(client, project_id, volumes=template_volume("docker"),
                                       flavor="g1-standard-1-2", allow_app_ports=True)
        assert inst["status"] == "ACTIVE"
        assert {"name": "docker-app-ports"} in inst["security_groups"]

    async def test_allow_app_ports_without_template_changes_nothing(self, client, project_id, runtime):
        inst = await finished_instance(client, project_id, allow_app_ports=True)
        assert inst["security_groups"] == [{"name": "default"}]

    @pytest.mark.parametrize(
        "overrides, status, field",
        [
            ({"volumes": [{"source": "apptemplate"}]}, 400, "volumes.0.apptemplate_id"),
            ({"volumes": template_volume("nope")}, 404, None),
            ({"volumes": template_volume("wordpress")}, 400, "configuration.wordpress_admin_email"),
            ({"volumes": template_volume("wordpress"),
              "configuration": {"wordpress_admin_email": "a@b.c", "colour": "blue"}}, 400, "configuration.colour"),
            ({"volumes": template_volume("wordpress"), "configuration": {"wordpress_admin_email": 42}}, 400,
             "configuration.wordpress_admin_email"),
            ({"volumes": template_volume("wordpress"), "configuration": {"wordpress_admin_email": ""}}, 400,
             "configuration.wordpress_admin_email"),
            ({"volumes": template_volume("wordpress", size=10), "configuration": {"wordpress_admin_email": "a@b.c"}},
             400, "volumes.0.size"),
            ({"volumes": template_volume("wordpress"), "flavor": "g1s-shared-1-1",
              "configuration": {"wordpress_admin_email": "a@b.c"}}, 400, "flavor"),
            ({"volumes": template_volume("gitlab-runner"), "flavor": "g1-standard-1-2",
              "configuration": {"gitlab_runner_token": "glrt-x"}}, 400, "flavor"),
            ({"configuration": {"wordpress_admin_email": "a@b.c"}}, 400, "configuration"),
            ({"volumes": [*template_volume("docker"), {**WORDPRESS, "boot_index": 1}],
              "configuration": {"wordpress_admin_email": "a@b.c"}}, 400, None),
        ],
    )
    async def test_bad_input_is_4xx_and_creates_nothing(self, client, project_id, runtime, overrides, status, field):
        r = await create_from_template(client, project_id, **overrides)
        assert r.status_code == status, r.text
        if field is not None:
            assert field in r.json()["invalid_fields"], r.json()
        assert (await client.get(f"/v1/instances/{project_id}/1")).json()["count"] == 0
        for name in ("wordpress-app-ports", "docker-app-ports"):
            assert await security_groups_named(runtime, project_id, name) == []


class TestCheckConfiguration:
    def test_defaults_fill_what_is_not_given(self):
        template = apptemplate_service.get_template("wordpress")
        effective = apptemplate_service.check_configuration(template, {"wordpress_admin_email": "a@b.c",
                                                                       "wordpress_site_title": ""})
        assert effective == {"wordpress_admin_email": "a@b.c", "wordpress_site_title": "My WordPress site",
                             "wordpress_admin_user": "admin"}

    def test_unknown_parameter_names_the_known_ones(self):
        template = apptemplate_service.get_template("grafana")
        with pytest.raises(ValidationError) as err:
            apptemplate_service.check_configuration(template, {"password": "x"})
        assert "grafana_admin_password" in err.value.message
