"""Tenant isolation, probed over every route of the app.

Client A (of reseller RA) owns one resource of every kind. Two attackers try each route against
them: a client key of another client, and a reseller key of another reseller. Each call must answer
404 (403 for routes the attacker's role may not use at all), leak nothing of A's in its body, and
change nothing: neither A's rows nor the attacker's own.

- ``foreign project``: A's project in the path, A's ids everywhere else.
- ``own project``: the attacker's own project in the path with A's resource ids (the scope check
  passes; the repositories must still refuse A's rows).
- ``own resources``: the attacker's own project and instance, with A's ids in the body.

Routes are read from the app itself: a new route that this module cannot classify, or that takes a
body it has no example for, fails ``test_every_route_is_probed``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from litestar.routes import HTTPRoute

from tests.api.tenancy.helpers import (
    REGION,
    UBUNTU,
    Reseller,
    Tenant,
    auth,
    create_instance,
    created,
    new_reseller,
    new_tenant,
    ok,
    private_subnet,
    unique,
)
from tests.conftest import ADMIN_TOKEN

ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP+7Nctfc7DleW5sPsuHWYnt6/gHWj9N9ercoQW8OwPO me@host"
SECRET = "a-secret"  # in the names of A's resources: must never appear in an attacker's response

# Routes that take no API key: the API documentation and the browser console, whose page and
# websocket authenticate with the short-lived token that get_console hands out (tests/api/instances).
PUBLIC_ROUTES = {
    ("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/docs/openapi.json"), ("GET", "/docs/{path:str}"),
    ("GET", "/docs/oauth2-redirect.html"), ("GET", "/docs/assets/{file_path:path}"),
    ("HEAD", "/docs/assets/{file_path:path}"), ("GET", "/console/{page:str}"),
    ("GET", "/console/static/{file_path:path}"), ("HEAD", "/console/static/{file_path:path}"),
}
# Path parameters that name a tenant's resource (public catalog ids such as image_id do not).
RESOURCE_PARAMS = {"instance_id", "volume_id", "network_id", "subnet_id", "floating_ip_id", "port_id", "group_id",
                   "rule_id", "ssh_key_id", "key"}
GLOBAL_ROUTES = {("GET", "/v1/regions"), ("GET", "/v1/regions/{region_id:int}")}


@dataclasses.dataclass
class Victim:
    tenant: Tenant
    reseller: Reseller
    network: str
    subnet: str
    instance: str
    instance_name: str
    port: str  # the instance's private port
    ip: str  # its fixed IP
    volume: str
    floating_ip: str
    reserved_port: str
    security_group: str
    rule: str
    servergroup: str
    ssh_key: str
    task: str


@dataclasses.dataclass
class Attacker:
    role: str
    headers: dict[str, str]
    own: Tenant  # a client the attacker may act for, with an instance and a floating IP of its own
    instance: str
    floating_ip: str
    security_group: str


@dataclasses.dataclass
class World:
    victim: Victim
    attackers: dict[str, Attacker]

    def ids(self) -> set[str]:
        v = self.victim
        return {v.network, v.subnet, v.instance, v.port, v.volume, v.floating_ip, v.reserved_port,
                v.security_group, v.rule, v.servergroup, v.ssh_key, v.task}


@pytest.fixture(scope="module")
async def http(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cloudlet.test",
                                 headers=auth(ADMIN_TOKEN), timeout=30) as c:
        yield c


async def _victim(http: httpx.AsyncClient) -> Victim:
    reseller = await new_reseller(http)
    a = await new_tenant(http, reseller_id=reseller.reseller_id)
    h, base = a.headers, f"{a.project_id}/{REGION}"
    ok(await http.put("/v1/reseller_name_templates", json={"reseller_id": reseller.reseller_id, "region_id": REGION,
                                                          "allow_custom_name": True}))
    network, subnet = await private_subnet(http, a, "10.77.0.0/24")
    name = f"{SECRET}-vm"
    r = await http.post(f"/v2/instances/{base}", headers=h, json={
        "flavor": "g1-standard-1-2", "name": name, "tags": {"probe": "a"},
        "volumes": [{"source": "image", "image_id": UBUNTU, "size": 10}],
        "interfaces": [{"type": "external"}, {"type": "subnet", "network_id": network, "subnet_id": subnet,
                                              "floating_ip": {"source": "new"}}],
    })
    (task,) = ok(r)["tasks"]
    instance = (await _finished(http, task))["created_resources"]["instances"][0]
    ifaces = ok(await http.get(f"/v1/instances/{base}/{instance}/interfaces"))["results"]
    private = next(i for i in ifaces if i["network_id"] == network)
    volume = await created(http, await http.post(f"/v1/volumes/{base}", headers=h, json={
        "source": "new-volume", "name": f"{SECRET}-vol", "size": 1}), "volumes", h)
    floating_ip = await created(http, await http.post(f"/v1/floatingips/{base}", headers=h, json={}),
                                "floatingips", h)
    reserved = await created(http, await http.post(f"/v1/reserved_fixed_ips/{base}", headers=h,
                                                   json={"type": "external"}), "ports", h)
    group = ok(await http.post(f"/v1/securitygroups/{base}", headers=h, json={"security_group": {
        "name": f"{SECRET}-sg", "security_group_rules": [{"direction": "ingress", "protocol": "tcp",
                                                          "port_range_min": 22, "port_range_max": 22}]}}))
    servergroup = ok(await http.post(f"/v1/servergroups/{base}", headers=h,
                                     json={"name": f"{SECRET}-group", "policy": "anti-affinity"}))
    key = ok(await http.post(f"/v1/ssh_keys/{a.project_id}", headers=h,
                             json={"name": f"{SECRET}-key", "public_key": ED25519}))
    return Victim(tenant=a, reseller=reseller, network=network, subnet=subnet, instance=instance, instance_name=name,
                  port=private["port_id"], ip=private["ip_assignments"][0]["ip_address"], volume=volume,
                  floating_ip=floating_ip, reserved_port=reserved, security_group=group["id"],
                  rule=group["security_group_rules"][0]["id"], servergroup=servergroup["servergroup_id"],
                  ssh_key=key["id"], task=task)


async def _finished(http: httpx.AsyncClient, task_id: str) -> Any:
    task = ok(await http.get(f"/v1/tasks/{task_id}"))
    assert task["state"] == "FINISHED", task
    return task


async def _attacker(http: httpx.AsyncClient, role: str) -> Attacker:
    if role == "client":
        own = await new_tenant(http)
        headers = own.headers
    else:
        reseller = await new_reseller(http)
        own = await new_tenant(http, reseller_id=reseller.reseller_id)
        headers = reseller.headers
    base = f"{own.project_id}/{REGION}"
    instance = await create_instance(http, own, name="own-vm")
    floating_ip = await created(http, await http.post(f"/v1/floatingips/{base}", headers=headers, json={}),
                                "floatingips", headers)
    groups = ok(await http.get(f"/v1/securitygroups/{base}", headers=headers))["results"]
    return Attacker(role=role, headers=headers, own=own, instance=instance, floating_ip=floating_ip,
                    security_group=groups[0]["id"])


@pytest.fixture(scope="module")
async def world(http: httpx.AsyncClient) -> AsyncIterator[World]:
    made = World(victim=await _victim(http), attackers={role: await _attacker(http, role)
                                                        for role in ("client", "reseller")})
    yield made
    for tenant, instance in [(made.victim.tenant, made.victim.instance),
                             *[(a.own, a.instance) for a in made.attackers.values()]]:
        r = await http.delete(f"/v1/instances/{tenant.project_id}/{REGION}/{instance}")
        assert r.status_code in (200, 404), r.text


# --- the routes ----------------------------------------------------------------------------------


def app_routes(app: Any) -> list[tuple[str, str, Any]]:
    """(method, path, handler) of every HTTP route of the app."""
    out = []
    for route in app.app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for method, handler in route.route_handler_map.items():
            if method != "OPTIONS":
                out.append((method, route.path, handler[0] if isinstance(handler, tuple) else handler))
    return sorted(out, key=lambda r: (r[1], r[0]))


def params_of(path: str) -> list[str]:
    return re.findall(r"\{(\w+)(?::\w+)?\}", path)


def fill(path: str, values: dict[str, Any]) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(values[m.group(1)]), path)


def path_values(world: World, path: str, project_id: int) -> dict[str, Any]:
    v = world.victim
    group = v.servergroup if "/servergroups/" in path else v.security_group
    return {
        "project_id": project_id, "region_id": REGION, "instance_id": v.instance, "volume_id": v.volume,
        "network_id": v.network, "subnet_id": v.subnet, "floating_ip_id": v.floating_ip, "port_id": v.reserved_port,
        "group_id": group, "rule_id": v.rule, "ssh_key_id": v.ssh_key, "task_id": v.task, "key": "probe",
        "image_id": UBUNTU, "apptemplate_id": "probe", "client_id": v.tenant.client_id,
        "reseller_id": v.reseller.reseller_id, "fault_id": 1, "key_id": v.tenant.key_id,
    }


Body = Callable[[World], Any]
RULE = {"direction": "ingress", "protocol": "tcp", "port_range_min": 80, "port_range_max": 80}
INSTANCES = "/v1/instances/{project_id:int}/{region_id:int}/{instance_id:str}"

# An example body per route that takes one: what A itself could send (A's ids wherever ids go).
BODIES: dict[tuple[str, str], Body] = {
    ("POST", "/v2/instances/{project_id:int}/{region_id:int}"): lambda w: {
        "flavor": "g1-standard-1-2", "name": "hijack", "volumes": [{"source": "image", "image_id": UBUNTU}],
        "interfaces": [{"type": "subnet", "network_id": w.victim.network, "subnet_id": w.victim.subnet}]},
    ("PATCH", INSTANCES): lambda w: {"name": "hijacked"},
    ("POST", "/v2/instances/{project_id:int}/{region_id:int}/{instance_id:str}/action"): lambda w: {"action": "stop"},
    ("POST", INSTANCES + "/start"): lambda w: {"activate_profile": False},
    ("POST", INSTANCES + "/changeflavor"): lambda w: {"flavor_id": "g1-standard-2-4"},
    ("POST", "/v1/instances/{project_id:int}/{region_id:int}/available_flavors"): lambda w: {
        "volumes": [{"source": "existing-volume", "volume_id": w.victim.volume}]},
    ("POST", INSTANCES + "/addsecuritygroup"): lambda w: {"name": f"{SECRET}-sg"},
    ("POST", INSTANCES + "/delsecuritygroup"): lambda w: {"name": f"{SECRET}-sg"},
    ("POST", INSTANCES + "/attach_interface"): lambda w: {"type": "subnet", "subnet_id": w.victim.subnet},
    ("POST", INSTANCES + "/detach_interface"): lambda w: {"port_id": w.victim.port, "ip_address": w.victim.ip},
    ("POST", INSTANCES + "/put_into_servergroup"): lambda w: {"servergroup_id": w.victim.servergroup},
    ("POST", INSTANCES + "/metadata"): lambda w: {"probe": "hijacked"},
    ("PUT", INSTANCES + "/metadata"): lambda w: {"probe": "hijacked"},
    ("POST", INSTANCES + "/metrics"): lambda w: {"time_interval": 1, "time_unit": "hour"},
    ("POST", "/v2/instances/{project_id:int}/{region_id:int}/check_limits"): lambda w: {"flavor": "g1-standard-1-2"},
    ("POST", "/v1/tasks/acknowledge"): lambda w: {"task_ids": [w.victim.task]},
    ("POST", "/v1/projects"): lambda w: {"name": unique("hijack"), "client_id": w.victim.tenant.client_id},
    ("PATCH", "/v1/projects/{project_id:int}"): lambda w: {"name": "hijacked"},
    ("PUT", "/v1/projects/{project_id:int}"): lambda w: {"name": "hijacked"},
    ("POST", "/v1/volumes/{project_id:int}/{region_id:int}"): lambda w: {
        "source": "new-volume", "name": "hijack", "size": 1},
    ("POST", "/v1/ssh_keys/{project_id:int}"): lambda w: {"name": "hijack-key", "public_key": ED25519},
    ("POST", "/v1/networks/{project_id:int}/{region_id:int}"): lambda w: {"name": "hijack"},
    ("PATCH", "/v1/networks/{project_id:int}/{region_id:int}/{network_id:str}"): lambda w: {"name": "hijacked"},
    ("PATCH", "/v2/networks/{project_id:int}/{region_id:int}/{network_id:str}"): lambda w: {"name": "hijacked"},
    ("POST", "/v1/subnets/{project_id:int}/{region_id:int}"): lambda w: {
        "name": "hijack", "network_id": w.victim.network, "cidr": "10.78.0.0/24"},
    ("PATCH", "/v1/subnets/{project_id:int}/{region_id:int}/{subnet_id:str}"): lambda w: {"name": "hijacked"},
    ("POST", "/v1/floatingips/{project_id:int}/{region_id:int}"): lambda w: {"port_id": w.victim.port},
    ("POST", "/v1/floatingips/{project_id:int}/{region_id:int}/{floating_ip_id:str}/assign"): lambda w: {
        "port_id": w.victim.port},
    ("POST", "/v1/reserved_fixed_ips/{project_id:int}/{region_id:int}"): lambda w: {
        "type": "subnet", "subnet_id": w.victim.subnet},
    ("POST", "/v2/security_groups/{project_id:int}/{region_id:int}"): lambda w: {"name": "hijack"},
    ("POST", "/v1/securitygroups/{project_id:int}/{region_id:int}"): lambda w: {
        "security_group": {"name": "hijack"}, "instances": [w.victim.instance]},
    ("POST", "/v1/securitygroups/{project_id:int}/{region_id:int}/{group_id:str}/rules"): lambda w: RULE,
    ("POST", "/v2/security_groups/{project_id:int}/{region_id:int}/{group_id:str}/rules"): lambda w: RULE,
    ("POST", "/v1/servergroups/{project_id:int}/{region_id:int}"): lambda w: {"name": "hijack", "policy": "affinity"},
    ("POST", "/admin/v1/faults"): lambda w: {"operation": "create_vm"},
    ("POST", "/admin/v1/resellers"): lambda w: {"name": "hijack"},
    ("POST", "/admin/v1/clients"): lambda w: {"name": "hijack"},
    ("POST", "/admin/v1/api_keys"): lambda w: {"name": "hijack", "role": "admin"},
    ("PUT", "/admin/v1/regional_quotas/{client_id:int}/{region_id:int}"): lambda w: {"vm_count_limit": 100000},
    ("PUT", "/v1/reseller_name_templates"): lambda w: {
        "reseller_id": w.victim.reseller.reseller_id, "region_id": REGION, "allow_custom_name": False},
}
QUERIES: dict[tuple[str, str], Callable[[World], dict[str, Any]]] = {
    ("GET", "/v2" + INSTANCES[3:] + "/metadata_item"): lambda w: {"key": "probe"},
    ("DELETE", "/v2" + INSTANCES[3:] + "/metadata_item"): lambda w: {"key": "probe"},
    ("GET", "/v1/tasks"): lambda w: {"project_id": w.victim.tenant.project_id},
    ("POST", "/v1/tasks/acknowledge_all"): lambda w: {"project_id": w.victim.tenant.project_id},
    ("GET", "/v1/projects"): lambda w: {"client_id": w.victim.tenant.client_id, "include_deleted": "true"},
    ("GET", "/v1/instances/search"): lambda w: {"name": SECRET},
}


@dataclasses.dataclass
class Probe:
    variant: str
    method: str
    route: str
    path: str
    body: Any
    params: dict[str, Any]
    expect: dict[str, int]  # by attacker role

    def __str__(self) -> str:
        return f"[{self.variant}] {self.method} {self.path}"


def _expect(method: str, path: str) -> dict[str, int] | None:
    """What the routes without a project in their path answer to each attacker (None: unclassified)."""
    if path.startswith("/admin/"):
        return {"client": 403, "reseller": 403}
    if "{task_id" in path or "{client_id" in path or path == "/v1/projects/{project_id:int}":
        return {"client": 404, "reseller": 404}
    if path.startswith("/v1/reseller_name_templates") and "{project_id" not in path:
        return {"client": 403, "reseller": 404 if method in ("PUT", "DELETE") else 200}
    if path == "/v1/instances/search":
        return {"client": 403, "reseller": 200}
    if (method, path) == ("POST", "/v1/projects"):
        return {"client": 404, "reseller": 404}
    if (method, path) in {("GET", "/v1/tasks"), ("GET", "/v1/projects"), *GLOBAL_ROUTES}:
        return {"client": 200, "reseller": 200}
    if (method, path) in {("POST", "/v1/tasks/acknowledge_all"), ("POST", "/v1/tasks/acknowledge")}:
        return {"client": 204, "reseller": 204}
    return None


def build_probes(app: Any, world: World) -> tuple[list[Probe], list[str]]:
    """Every probe for every route; and the routes this module cannot probe (each one a test failure)."""
    probes: list[Probe] = []
    problems: list[str] = []
    not_found = {"client": 404, "reseller": 404}
    for method, route, handler in app_routes(app):
        signature = handler.parsed_fn_signature.parameters
        if "principal" not in signature:
            if (method, route) not in PUBLIC_ROUTES:
                problems.append(f"{method} {route} takes no API key and is not a known public route")
            continue
        body_fn = BODIES.get((method, route))
        if "data" in signature and body_fn is None and not signature["data"].has_default:
            problems.append(f"{method} {route} takes a body: add an example to BODIES")
            continue
        body = body_fn(world) if body_fn else None
        params = QUERIES.get((method, route), lambda w: {})(world)
        names = params_of(route)
        if "project_id" in names and route != "/v1/projects/{project_id:int}":
            foreign = fill(route, path_values(world, route, world.victim.tenant.project_id))
            probes.append(Probe("foreign project", method, route, foreign, body, params, not_found))
            if RESOURCE_PARAMS & set(names):
                for attacker in world.attackers.values():
                    own = fill(route, path_values(world, route, attacker.own.project_id))
                    probes.append(Probe(f"own project ({attacker.role})", method, route, own, body, params,
                                        {attacker.role: 404}))
            elif method == "GET" and set(names) <= {"project_id", "region_id"}:
                for attacker in world.attackers.values():
                    own = fill(route, path_values(world, route, attacker.own.project_id))
                    probes.append(Probe(f"own list ({attacker.role})", method, route, own, body, params,
                                        {attacker.role: 200}))
            continue
        expect = _expect(method, route)
        if expect is None:
            problems.append(f"{method} {route}: classify it in _expect()")
            continue
        probes.append(Probe("no project", method, route, fill(route, path_values(world, route, 0)), body, params,
                            expect))
    return probes, problems


# --- what must not change ------------------------------------------------------------------------

_FULL_TABLES = {"api_keys", "clients", "resellers", "regional_quotas", "reseller_name_templates", "faults", "regions",
                "flavors", "console_tokens", "host_allocations"}


async def snapshot(runtime: Any, world: World) -> dict[str, list[tuple[str, ...]]]:
    """Every row of A and of the attackers' own clients, and the small global tables, as text."""
    from cloudlet.models import instances, metadata, ports, security_groups, subnets

    project_ids = [world.victim.tenant.project_id, *[a.own.project_id for a in world.attackers.values()]]
    client_ids = [world.victim.tenant.client_id, *[a.own.client_id for a in world.attackers.values()]]
    out: dict[str, list[tuple[str, ...]]] = {}
    async with runtime.db.read() as conn:
        async def ids(table: sa.Table) -> list[Any]:
            return list((await conn.execute(sa.select(table.c.id).where(table.c.project_id.in_(project_ids))))
                        .scalars())

        owned = {"instance_id": await ids(instances), "port_id": await ids(ports),
                 "security_group_id": await ids(security_groups), "subnet_id": await ids(subnets)}
        for table in metadata.sorted_tables:
            c = table.c
            where: list[Any] = []
            if table.name in _FULL_TABLES:
                pass
            elif "project_id" in c:
                where.append(sa.or_(c.project_id.in_(project_ids), c.project_id.is_(None)))
                if "client_id" in c:
                    where = [sa.or_(*where, c.client_id.in_(client_ids))]
            elif "client_id" in c:
                where.append(c.client_id.in_(client_ids))
            else:
                links = [c[name].in_(values) for name, values in owned.items() if name in c]
                assert links, f"snapshot does not know how to scope table {table.name}"
                where.append(sa.or_(*links))
            rows = (await conn.execute(sa.select(table).where(*where))).all()
            out[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
    return out


def changes(before: dict[str, list[Any]], after: dict[str, list[Any]]) -> dict[str, Any]:
    return {name: {"gone": sorted(set(rows) - set(after[name]))[:3], "new": sorted(set(after[name]) - set(rows))[:3]}
            for name, rows in before.items() if rows != after[name]}


# --- the probes ----------------------------------------------------------------------------------


class TestIsolation:
    async def test_every_route_is_probed(self, app, world):
        probes, problems = build_probes(app, world)
        assert not problems, "\n".join(problems)
        probed = {(p.method, p.route) for p in probes}
        routes = {(m, r) for m, r, h in app_routes(app) if (m, r) not in PUBLIC_ROUTES}
        assert probed == routes
        assert len(probes) > 150

    @pytest.mark.parametrize("role", ["client", "reseller"])
    async def test_no_route_reaches_another_tenant(self, app, http, runtime, world, role):
        attacker = world.attackers[role]
        probes, _ = build_probes(app, world)
        secrets = world.ids() | {SECRET}
        failures: list[str] = []
        before = await snapshot(runtime, world)
        for probe in probes:
            if role not in probe.expect:
                continue
            r = await http.request(probe.method, probe.path, params=probe.params, headers=attacker.headers,
                                   json=probe.body)
            expected = probe.expect[role]
            problem = None
            if r.status_code != expected:
                problem = f"answered {r.status_code}, expected {expected}: {r.text[:300]}"
            elif expected >= 400:
                name = {403: "ForbiddenError", 404: "NotFoundError"}[expected]
                if r.json().get("exception_class") != name:
                    problem = f"error body is not a {name}: {r.text[:300]}"
            if problem is None:
                asked = f"{probe.path} {probe.params} {probe.body}"  # an id the caller sent may be echoed
                leaked = sorted(s for s in secrets if s in r.text and s not in asked)
                if leaked:
                    problem = f"the response shows A's {leaked}: {r.text[:300]}"
            after = await snapshot(runtime, world)
            if after != before:
                problem = (problem or "") + f" and changed rows: {changes(before, after)}"
                before = after
            if problem:
                failures.append(f"{probe}: {problem}")
        assert not failures, f"{len(failures)} of {len(probes)} probes failed:\n" + "\n".join(failures)


# --- A's ids in the body of a request on the attacker's own resources ------------------------------


def own_resource_cases(world: World, attacker: Attacker) -> list[tuple[str, str, Any, dict[str, Any]]]:
    """(method, path, body, query) of requests on the attacker's own project and instance that name A's ids."""
    v = world.victim
    base = f"{attacker.own.project_id}/{REGION}"
    inst = f"/v1/instances/{base}/{attacker.instance}"

    def create(**overrides: Any) -> dict[str, Any]:
        body = {"flavor": "g1-standard-1-2", "name": "sneaky", "interfaces": [{"type": "external"}],
                "volumes": [{"source": "image", "image_id": UBUNTU, "size": 10}]}
        return {**body, **overrides}

    subnet_iface = {"type": "subnet", "network_id": v.network, "subnet_id": v.subnet}
    return [
        ("POST", f"/v2/instances/{base}", create(interfaces=[subnet_iface]), {}),
        ("POST", f"/v2/instances/{base}", create(interfaces=[{"type": "any_subnet", "network_id": v.network}]), {}),
        ("POST", f"/v2/instances/{base}", create(interfaces=[{"type": "reserved_fixed_ip",
                                                              "port_id": v.reserved_port}]), {}),
        ("POST", f"/v2/instances/{base}", create(interfaces=[{"type": "external", "security_groups": [
            {"id": v.security_group}]}]), {}),
        ("POST", f"/v2/instances/{base}", create(security_groups=[{"id": v.security_group}]), {}),
        ("POST", f"/v2/instances/{base}", create(volumes=[{"source": "existing-volume", "volume_id": v.volume}]), {}),
        ("POST", f"/v2/instances/{base}", create(servergroup_id=v.servergroup), {}),
        ("POST", f"/v2/instances/{base}", create(ssh_key_name=f"{SECRET}-key"), {}),
        ("POST", f"/v1/instances/{base}/available_flavors",
         {"volumes": [{"source": "existing-volume", "volume_id": v.volume}]}, {}),
        ("POST", f"{inst}/attach_interface", {"type": "subnet", "subnet_id": v.subnet}, {}),
        ("POST", f"{inst}/attach_interface", {"type": "any_subnet", "network_id": v.network}, {}),
        ("POST", f"{inst}/attach_interface", {"type": "reserved_fixed_ip", "port_id": v.reserved_port}, {}),
        ("POST", f"{inst}/attach_interface", {"type": "external", "security_groups": [{"id": v.security_group}]}, {}),
        ("POST", f"{inst}/detach_interface", {"port_id": v.port, "ip_address": v.ip}, {}),
        ("POST", f"{inst}/put_into_servergroup", {"servergroup_id": v.servergroup}, {}),
        ("POST", f"{inst}/addsecuritygroup", {"name": f"{SECRET}-sg"}, {}),
        ("POST", f"/v1/subnets/{base}", {"name": "sneaky", "network_id": v.network, "cidr": "10.79.0.0/24"}, {}),
        ("POST", f"/v1/floatingips/{base}", {"port_id": v.port}, {}),
        ("POST", f"/v1/floatingips/{base}/{attacker.floating_ip}/assign", {"port_id": v.port}, {}),
        ("POST", f"/v1/reserved_fixed_ips/{base}", {"type": "subnet", "subnet_id": v.subnet}, {}),
        ("POST", f"/v1/reserved_fixed_ips/{base}", {"type": "any_subnet", "network_id": v.network}, {}),
        ("POST", f"/v1/reserved_fixed_ips/{base}", {"type": "ip_address", "network_id": v.network,
                                                    "ip_address": "10.77.0.200"}, {}),
        ("POST", f"/v1/securitygroups/{base}", {"security_group": {"name": "sneaky"}, "instances": [v.instance]}, {}),
        ("POST", f"/v1/securitygroups/{base}/{attacker.security_group}/rules",
         {**RULE, "remote_group_id": v.security_group}, {}),
        ("POST", f"/v2/security_groups/{base}/{attacker.security_group}/rules",
         {**RULE, "remote_group_id": v.security_group}, {}),
        ("DELETE", inst, None, {"volumes": v.volume}),
        ("DELETE", inst, None, {"floatings": v.floating_ip}),
        ("DELETE", inst, None, {"reserved_fixed_ips": v.reserved_port}),
    ]


class TestForeignIdsInBodies:
    @pytest.mark.parametrize("role", ["client", "reseller"])
    async def test_foreign_ids_are_not_found_and_change_nothing(self, http, runtime, world, role):
        attacker = world.attackers[role]
        failures = []
        before = await snapshot(runtime, world)
        for method, path, body, query in own_resource_cases(world, attacker):
            r = await http.request(method, path, json=body, params=query, headers=attacker.headers)
            label = f"{method} {path} {body or query}"
            asked = f"{path} {body} {query}"
            if r.status_code not in (400, 404):
                failures.append(f"{label}: answered {r.status_code}: {r.text[:300]}")
            elif r.status_code == 400 and not query:
                failures.append(f"{label}: answered 400 where A's id should read as missing: {r.text[:300]}")
            if any(s in r.text and s not in asked for s in world.ids() | {SECRET}):
                failures.append(f"{label}: the response shows A's ids: {r.text[:300]}")
            after = await snapshot(runtime, world)
            if after != before:
                failures.append(f"{label}: changed rows {changes(before, after)}")
                before = after
        assert not failures, "\n".join(failures)
