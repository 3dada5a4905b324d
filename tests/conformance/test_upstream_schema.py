"""Conformance: a representative call of every instance-group endpoint (endpoints.md: the 43 product endpoints
and the 6 task endpoints; ``endpoints.json`` lists them), each answer validated against the response schema
that Gcore's own OpenAPI declares for it (tests/reference/gcore-cloud-instances.openapi.yaml).

Without that file the tests skip, saying where they looked (``CLOUDLET_REFERENCE_DIR`` moves it).
Where Gcore's OpenAPI disagrees with what Gcore's API really sends (and so what the SDKs parse), ``PATCHES``
says so, property by property, with the reason.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import yaml

from tests.api.tenancy.helpers import (
    REGION,
    UBUNTU,
    auth,
    created,
    new_reseller,
    new_tenant,
    ok,
    private_subnet,
    unique,
)
from tests.conftest import ADMIN_TOKEN
from tests.upstream_schema import REFERENCE_DIR, SPEC, check

ENDPOINTS = REFERENCE_DIR / "endpoints.json"

# Gcore sends os_version as a string ("20.04", gcorelabscloud-go's fixture); its OpenAPI says number.
PATCHES: dict[str, dict[str, dict[str, Any]]] = {
    "AppTemplateSerializer": {"os_version": {"type": "string"}},
}


# Where Gcore's OpenAPI names a schema that Gcore's API does not send. The six deprecated v1 power actions
# return the instance itself, synchronously (endpoints.md 0.3 fact 2 and 2.7-2.12; the Go SDK, their only
# client, parses one ``DeprecatedInstance``), though the OpenAPI names the collection serializer.
SCHEMA_OVERRIDES = {("POST", f"/v1/instances/{{project_id}}/{{region_id}}/{{instance_id}}/{action}"): "InstanceSerializer"
                    for action in ("start", "stop", "reboot", "powercycle", "suspend", "resume")}


def _endpoints() -> list[dict[str, Any]]:
    if not ENDPOINTS.exists():
        return []
    return [e for e in json.loads(ENDPOINTS.read_text()) if not e["group"].startswith("supporting.")]


@functools.cache
def _paths() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(SPEC.read_text(), Loader=loader)["paths"]  # type: ignore[no-any-return]


def declared(method: str, path: str, status: int) -> str | None:
    """The component that Gcore's OpenAPI names for this answer (None: no body)."""
    responses = _paths()[f"/cloud{path}"][method.lower()]["responses"]
    content = responses[str(status)].get("content", {})
    schema = content.get("application/json", {}).get("schema")
    return schema["$ref"].rsplit("/", 1)[1] if schema else None


# --- the resources the calls act on -------------------------------------------------------------


@dataclasses.dataclass
class World:
    http: httpx.AsyncClient
    project: int
    reseller_id: int
    reseller_headers: dict[str, str]
    instance: str  # ACTIVE, with an external and a private interface; calls leave it ACTIVE and unlocked
    network: str
    subnet: str
    security_group: str
    servergroup: str

    @property
    def base(self) -> str:
        return f"{self.project}/{REGION}"

    @property
    def inst(self) -> str:
        return f"/v1/instances/{self.base}/{self.instance}"

    async def new_instance(self, **extra: Any) -> str:
        body = {"flavor": "g1-standard-1-2", "name": unique("vm"), "interfaces": [{"type": "external"}],
                "volumes": [{"source": "image", "image_id": UBUNTU, "size": 10}], **extra}
        return await created(self.http, await self.http.post(f"/v2/instances/{self.base}", json=body), "instances")

    async def action(self, instance: str, action: str) -> None:
        (task,) = ok(await self.http.post(f"/v2/instances/{self.base}/{instance}/action", json={"action": action}))[
            "tasks"]
        assert ok(await self.http.get(f"/v1/tasks/{task}"))["state"] == "FINISHED"

    async def task(self) -> str:
        """A finished task of this project."""
        r = await self.http.post(f"/v2/instances/{self.base}/{self.instance}/action", json={"action": "reboot"})
        return str(ok(r)["tasks"][0])


@pytest.fixture(scope="module")
async def world(app: Any) -> AsyncIterator[World]:
    if not SPEC.exists() or not ENDPOINTS.exists():
        pytest.skip(f"the upstream OpenAPI and endpoint list are not in {REFERENCE_DIR} (set CLOUDLET_REFERENCE_DIR)")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cloudlet.test",
                                 headers=auth(ADMIN_TOKEN), timeout=30) as http:
        reseller = await new_reseller(http)
        tenant = await new_tenant(http, reseller_id=reseller.reseller_id)
        tenant.headers = auth(ADMIN_TOKEN)
        network, subnet = await private_subnet(http, tenant, "10.91.0.0/24")
        base = f"{tenant.project_id}/{REGION}"
        group = ok(await http.post(f"/v1/securitygroups/{base}", json={"security_group": {"name": unique("sg")}}))
        servergroup = ok(await http.post(f"/v1/servergroups/{base}", json={"name": unique("sg"),
                                                                           "policy": "anti-affinity"}))
        w = World(http=http, project=tenant.project_id, reseller_id=reseller.reseller_id,
                  reseller_headers=reseller.headers, instance="", network=network, subnet=subnet,
                  security_group=group["id"], servergroup=servergroup["servergroup_id"])
        w.instance = await w.new_instance(interfaces=[
            {"type": "external"}, {"type": "subnet", "network_id": network, "subnet_id": subnet}])
        yield w


# --- one representative call per endpoint -------------------------------------------------------

Call = Callable[[World], Awaitable[httpx.Response]]
CALLS: dict[tuple[str, str], Call] = {}


def call(method: str, path: str) -> Callable[[Call], Call]:
    def register(fn: Call) -> Call:
        CALLS[(method, path)] = fn
        return fn
    return register


P, PI = "/{project_id}/{region_id}", "/{project_id}/{region_id}/{instance_id}"


@call("POST", f"/v2/instances{P}")
async def _create(w: World) -> httpx.Response:
    return await w.http.post(f"/v2/instances/{w.base}", json={
        "flavor": "g1-standard-1-2", "name": unique("made"), "interfaces": [{"type": "external"}],
        "volumes": [{"source": "image", "image_id": UBUNTU, "size": 10}]})


@call("GET", f"/v1/instances{P}")
async def _list(w: World) -> httpx.Response:
    return await w.http.get(f"/v1/instances/{w.base}", params={"with_ddos": "true", "include_k8s": "true"})


@call("GET", f"/v1/instances{PI}")
async def _get(w: World) -> httpx.Response:
    return await w.http.get(w.inst)


@call("PATCH", f"/v1/instances{PI}")
async def _patch(w: World) -> httpx.Response:
    return await w.http.patch(w.inst, json={"name": unique("renamed")})


@call("DELETE", f"/v1/instances{PI}")
async def _delete(w: World) -> httpx.Response:
    return await w.http.delete(f"/v1/instances/{w.base}/{await w.new_instance()}")


@call("POST", f"/v2/instances{PI}/action")
async def _action(w: World) -> httpx.Response:
    return await w.http.post(f"/v2/instances/{w.base}/{w.instance}/action", json={"action": "reboot"})


def _power(action: str, before: str | None) -> Call:
    async def run(w: World) -> httpx.Response:
        instance = await w.new_instance()
        if before:
            await w.action(instance, before)
        body = {"activate_profile": False} if action == "start" else None
        return await w.http.post(f"/v1/instances/{w.base}/{instance}/{action}", json=body)
    return run


for _action_name, _before in (("start", "stop"), ("stop", None), ("reboot", None), ("powercycle", None),
                              ("suspend", None), ("resume", "suspend")):
    call("POST", f"/v1/instances{PI}/{_action_name}")(_power(_action_name, _before))


@call("POST", f"/v1/instances{PI}/changeflavor")
async def _resize(w: World) -> httpx.Response:
    return await w.http.post(f"/v1/instances/{w.base}/{await w.new_instance()}/changeflavor",
                             json={"flavor_id": "g1-standard-2-4"})


@call("POST", f"/v1/instances{PI}/put_into_servergroup")
async def _put_into(w: World) -> httpx.Response:
    return await w.http.post(f"/v1/instances/{w.base}/{await w.new_instance()}/put_into_servergroup",
                             json={"servergroup_id": w.servergroup})


@call("POST", f"/v1/instances{PI}/remove_from_servergroup")
async def _remove_from(w: World) -> httpx.Response:
    instance = await w.new_instance(servergroup_id=w.servergroup)
    return await w.http.post(f"/v1/instances/{w.base}/{instance}/remove_from_servergroup")


@call("POST", f"/v1/instances{PI}/addsecuritygroup")
async def _add_sg(w: World) -> httpx.Response:
    name = ok(await w.http.get(f"/v1/securitygroups/{w.base}/{w.security_group}"))["name"]
    return await w.http.post(f"/v1/instances/{w.base}/{await w.new_instance()}/addsecuritygroup", json={"name": name})


@call("POST", f"/v1/instances{PI}/delsecuritygroup")
async def _del_sg(w: World) -> httpx.Response:
    return await w.http.post(f"/v1/instances/{w.base}/{await w.new_instance()}/delsecuritygroup",
                             json={"name": "default"})


@call("GET", f"/v1/instances{PI}/securitygroups")
async def _sgs(w: World) -> httpx.Response:
    return await w.http.get(f"{w.inst}/securitygroups")


@call("GET", f"/v1/instances{PI}/interfaces")
async def _interfaces(w: World) -> httpx.Response:
    return await w.http.get(f"{w.inst}/interfaces")


@call("POST", f"/v1/instances{PI}/attach_interface")
async def _attach(w: World) -> httpx.Response:
    return await w.http.post(f"/v1/instances/{w.base}/{await w.new_instance()}/attach_interface",
                             json={"type": "subnet", "subnet_id": w.subnet})


@call("POST", f"/v1/instances{PI}/detach_interface")
async def _detach(w: World) -> httpx.Response:
    instance = await w.new_instance(interfaces=[
        {"type": "external"}, {"type": "subnet", "network_id": w.network, "subnet_id": w.subnet}])
    ifaces = ok(await w.http.get(f"/v1/instances/{w.base}/{instance}/interfaces"))["results"]
    private = next(i for i in ifaces if i["network_id"] == w.network)
    return await w.http.post(f"/v1/instances/{w.base}/{instance}/detach_interface", json={
        "port_id": private["port_id"], "ip_address": private["ip_assignments"][0]["ip_address"]})


@call("GET", f"/v1/instances{PI}/ports")
async def _ports(w: World) -> httpx.Response:
    return await w.http.get(f"{w.inst}/ports")


@call("GET", f"/v1/instances{PI}/get_console")
async def _console(w: World) -> httpx.Response:
    return await w.http.get(f"{w.inst}/get_console", params={"console_type": "serial"})


@call("POST", f"/v1/instances{PI}/metrics")
async def _metrics(w: World) -> httpx.Response:
    return await w.http.post(f"{w.inst}/metrics", json={"time_interval": 1, "time_unit": "hour"})


@call("POST", f"/v2/instances{P}/check_limits")
async def _check_limits(w: World) -> httpx.Response:
    return await w.http.post(f"/v2/instances/{w.base}/check_limits", json={
        "flavor": "g1-standard-1-2", "interfaces": [{"type": "external"}],
        "volumes": [{"source": "image", "image_id": UBUNTU, "size": 10}]})


@call("GET", f"/v1/flavors{P}")
async def _flavors(w: World) -> httpx.Response:
    return await w.http.get(f"/v1/flavors/{w.base}", params={"include_prices": "true"})


@call("GET", f"/v1/instances{P}/available_names")
async def _available_names(w: World) -> httpx.Response:
    return await w.http.get(f"/v1/instances/{w.base}/available_names")


@call("GET", "/v1/instances/search")
async def _search(w: World) -> httpx.Response:
    return await w.http.get("/v1/instances/search", params={"name": "vm"}, headers=w.reseller_headers)


@call("GET", f"/v1/apptemplates{P}")
async def _apptemplates(w: World) -> httpx.Response:
    return await w.http.get(f"/v1/apptemplates/{w.base}")


@call("GET", f"/v1/apptemplates{P}/{{apptemplate_id}}")
async def _apptemplate(w: World) -> httpx.Response:
    first = ok(await w.http.get(f"/v1/apptemplates/{w.base}"))["results"][0]["id"]
    return await w.http.get(f"/v1/apptemplates/{w.base}/{first}")


@call("POST", f"/v1/instances{P}/available_flavors")
async def _available_flavors(w: World) -> httpx.Response:
    return await w.http.post(f"/v1/instances/{w.base}/available_flavors",
                             json={"volumes": [{"source": "image", "image_id": UBUNTU, "size": 10}]})


@call("GET", f"/v1/instances{PI}/available_flavors")
async def _resize_flavors(w: World) -> httpx.Response:
    return await w.http.get(f"{w.inst}/available_flavors")


@call("POST", f"/v1/instances{PI}/metadata")
async def _metadata_update(w: World) -> httpx.Response:
    return await w.http.post(f"{w.inst}/metadata", json={"role": "web", "tier": "front"})


@call("PUT", f"/v1/instances{PI}/metadata")
async def _metadata_replace(w: World) -> httpx.Response:
    return await w.http.put(f"{w.inst}/metadata", json={"role": "web", "tier": "front"})


@call("GET", f"/v1/instances{PI}/metadata")
async def _metadata_list(w: World) -> httpx.Response:
    ok(await w.http.post(f"{w.inst}/metadata", json={"role": "web"}), 204)
    return await w.http.get(f"{w.inst}/metadata")


@call("GET", f"/v1/instances{PI}/metadata/{{key}}")
async def _metadata_get(w: World) -> httpx.Response:
    ok(await w.http.post(f"{w.inst}/metadata", json={"role": "web"}), 204)
    return await w.http.get(f"{w.inst}/metadata/role")


@call("DELETE", f"/v1/instances{PI}/metadata/{{key}}")
async def _metadata_delete(w: World) -> httpx.Response:
    ok(await w.http.post(f"{w.inst}/metadata", json={"gone": "soon"}), 204)
    return await w.http.delete(f"{w.inst}/metadata/gone")


@call("GET", f"/v2/instances{PI}/metadata_item")
async def _metadata_item(w: World) -> httpx.Response:
    ok(await w.http.post(f"{w.inst}/metadata", json={"role": "web"}), 204)
    return await w.http.get(f"/v2/instances/{w.base}/{w.instance}/metadata_item", params={"key": "role"})


@call("DELETE", f"/v2/instances{PI}/metadata_item")
async def _metadata_item_delete(w: World) -> httpx.Response:
    ok(await w.http.post(f"{w.inst}/metadata", json={"gone": "soon"}), 204)
    return await w.http.delete(f"/v2/instances/{w.base}/{w.instance}/metadata_item", params={"key": "gone"})


def _templates(w: World) -> dict[str, Any]:
    return {"reseller_id": w.reseller_id, "region_id": REGION, "allow_custom_name": True,
            "allowed_name_templates": ["web-{ip_octets}"]}


@call("PUT", "/v1/reseller_name_templates")
async def _templates_put(w: World) -> httpx.Response:
    return await w.http.put("/v1/reseller_name_templates", json=_templates(w))


@call("GET", "/v1/reseller_name_templates")
async def _templates_list(w: World) -> httpx.Response:
    ok(await w.http.put("/v1/reseller_name_templates", json=_templates(w)))
    return await w.http.get("/v1/reseller_name_templates", headers=w.reseller_headers)


@call("DELETE", "/v1/reseller_name_templates/{reseller_id}/{region_id}")
async def _templates_delete(w: World) -> httpx.Response:
    ok(await w.http.put("/v1/reseller_name_templates", json=_templates(w)))
    return await w.http.delete(f"/v1/reseller_name_templates/{w.reseller_id}/{REGION}")


@call("GET", f"/v1/reseller_name_templates{P}/available_names")
async def _templates_names(w: World) -> httpx.Response:
    ok(await w.http.put("/v1/reseller_name_templates", json=_templates(w)))
    return await w.http.get(f"/v1/reseller_name_templates/{w.base}/available_names")


@call("GET", "/v1/tasks/{task_id}")
async def _task(w: World) -> httpx.Response:
    return await w.http.get(f"/v1/tasks/{await w.task()}")


@call("GET", "/v1/tasks")
async def _tasks(w: World) -> httpx.Response:
    await w.task()
    return await w.http.get("/v1/tasks", params={"project_id": w.project, "limit": 5})


@call("POST", "/v1/tasks/acknowledge")
async def _ack_list(w: World) -> httpx.Response:
    return await w.http.post("/v1/tasks/acknowledge", json={"task_ids": [await w.task()]})


@call("POST", "/v1/tasks/acknowledge_all")
async def _ack_all(w: World) -> httpx.Response:
    await w.task()
    return await w.http.post("/v1/tasks/acknowledge_all", params={"project_id": w.project, "region_id": REGION})


@call("POST", "/v1/tasks/{task_id}/acknowledge")
async def _ack_one(w: World) -> httpx.Response:
    return await w.http.post(f"/v1/tasks/{await w.task()}/acknowledge")


@call("GET", f"/v1/tasks{P}/active")
async def _active(w: World) -> httpx.Response:
    return await w.http.get(f"/v1/tasks/{w.base}/active")


# --- the tests -----------------------------------------------------------------------------------


def test_every_endpoint_has_a_call():
    if not ENDPOINTS.exists():
        pytest.skip(f"the endpoint list is not at {ENDPOINTS} (set CLOUDLET_REFERENCE_DIR)")
    listed = {(e["method"], e["path"]) for e in _endpoints()}
    assert len(listed) == 49
    assert listed == set(CALLS), {"no call": listed - set(CALLS), "not an endpoint": set(CALLS) - listed}


@pytest.mark.parametrize("endpoint", _endpoints(), ids=lambda e: f"{e['method']} {e['path']}")
async def test_response_matches_the_upstream_schema(world, endpoint):
    method, path, status = endpoint["method"], endpoint["path"], endpoint["status"]
    r = await CALLS[(method, path)](world)
    assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text[:500]}"
    component = SCHEMA_OVERRIDES.get((method, path)) or declared(method, path, status)
    if component is None:
        assert not r.content, f"{method} {path} answers {status} with a body: {r.text[:200]}"
        return
    body = r.json()
    check(component, body, patch={k: v for k, v in PATCHES.items()})
    if endpoint["returns"] == "tasks":
        for task_id in body["tasks"]:  # the work the call started ended well
            task = ok(await world.http.get(f"/v1/tasks/{task_id}"))
            assert task["state"] == "FINISHED", task
            check("TaskSerializer", task)
