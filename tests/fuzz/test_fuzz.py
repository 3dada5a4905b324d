"""Fuzzing with schemathesis against cloudlet's own OpenAPI (``/openapi.json``), every operation, as a client,
a reseller and an admin.

Checks on every answer: no 5xx; the body matches the schema the OpenAPI declares for that status; every
4xx has the Gcore error body (``exception_class``, ``message``, ``request_id``).

Cases come from the schema (valid and invalid data); half of them aim at real resources of the caller
(its project, instance, network...) so that bodies reach the services instead of stopping at a 404.
The app is a fresh one per backend (its own database), since fuzzing arms faults, changes quotas and
deletes what it finds.

In CI each operation gets ``CLOUDLET_FUZZ_EXAMPLES`` cases per role (default 4, derandomised, so a run
is reproducible). A longer run, with fresh random cases each time::

    CLOUDLET_FUZZ_EXAMPLES=200 .venv/bin/pytest -q tests/fuzz
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from cloudlet.config import Settings
from tests.api.tenancy.helpers import (
    REGION,
    UBUNTU,
    auth,
    create_instance,
    created,
    new_reseller,
    new_tenant,
    ok,
    private_subnet,
)
from tests.conftest import ADMIN_TOKEN, LifespanApp, database_url
from tests.reliability.figures import FIGURES

EXAMPLES = int(os.environ.get("CLOUDLET_FUZZ_EXAMPLES", "4"))
LONG_RUN = "CLOUDLET_FUZZ_EXAMPLES" in os.environ
ROLES = ("client", "reseller", "admin")
ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP+7Nctfc7DleW5sPsuHWYnt6/gHWj9N9ercoQW8OwPO me@host"


@dataclasses.dataclass
class Caller:
    role: str
    headers: dict[str, str]
    known: dict[str, Any]  # path parameter -> a real value this caller may use


@dataclasses.dataclass
class Fuzzing:
    loop: asyncio.AbstractEventLoop
    http: httpx.AsyncClient
    schema: Any
    callers: dict[str, Caller]
    protected: dict[str, set[Any]]  # path parameter -> values whose DELETE would end the run (our keys, tenants)


async def _world(http: httpx.AsyncClient) -> tuple[dict[str, Caller], dict[str, set[Any]]]:
    admin_key = ok(await http.post("/admin/v1/api_keys", json={"name": "fuzz admin", "role": "admin"}))
    reseller = await new_reseller(http)
    tenant = await new_tenant(http, reseller_id=reseller.reseller_id)
    h, base = tenant.headers, f"{tenant.project_id}/{REGION}"
    network, subnet = await private_subnet(http, tenant, "10.66.0.0/24")
    instance = await create_instance(http, tenant, name="fuzz-vm", interfaces=[
        {"type": "external"}, {"type": "subnet", "network_id": network, "subnet_id": subnet}])
    volume = await created(http, await http.post(f"/v1/volumes/{base}", headers=h, json={
        "source": "new-volume", "name": "fuzz-vol", "size": 1}), "volumes", h)
    floating_ip = await created(http, await http.post(f"/v1/floatingips/{base}", headers=h, json={}),
                                "floatingips", h)
    reserved = await created(http, await http.post(f"/v1/reserved_fixed_ips/{base}", headers=h,
                                                   json={"type": "external"}), "ports", h)
    group = ok(await http.post(f"/v1/securitygroups/{base}", headers=h, json={"security_group": {
        "name": "fuzz-sg", "security_group_rules": [{"direction": "ingress", "protocol": "tcp",
                                                     "port_range_min": 22, "port_range_max": 22}]}}))
    servergroup = ok(await http.post(f"/v1/servergroups/{base}", headers=h,
                                     json={"name": "fuzz-group", "policy": "anti-affinity"}))
    key = ok(await http.post(f"/v1/ssh_keys/{tenant.project_id}", headers=h,
                             json={"name": "fuzz-key", "public_key": ED25519}))
    ok(await http.post(f"/v1/instances/{base}/{instance}/metadata", headers=h, json={"probe": "value"}), 204)
    tasks = ok(await http.get("/v1/tasks", params={"project_id": tenant.project_id, "limit": 1}, headers=h))
    known = {
        "project_id": tenant.project_id, "region_id": REGION, "instance_id": instance, "volume_id": volume,
        "network_id": network, "subnet_id": subnet, "floating_ip_id": floating_ip, "port_id": reserved,
        "group_id": group["id"], "rule_id": group["security_group_rules"][0]["id"], "ssh_key_id": key["id"],
        "task_id": tasks["results"][0]["id"], "key": "probe", "image_id": UBUNTU, "apptemplate_id": "wordpress",
        "client_id": tenant.client_id, "reseller_id": reseller.reseller_id, "key_id": admin_key["id"] + 1000,
        "fault_id": 1,
    }
    callers = {
        "client": Caller("client", tenant.headers, known),
        "reseller": Caller("reseller", reseller.headers, known),
        "admin": Caller("admin", auth(admin_key["token"]), {**known, "servergroup_id": servergroup["servergroup_id"]}),
    }
    callers["admin"].known["group_id"] = group["id"]
    keys = ok(await http.get("/admin/v1/api_keys", params={"limit": 1000}))["results"]
    protected = {
        "key_id": {k["id"] for k in keys},
        "client_id": {tenant.client_id, 1},
        "reseller_id": {reseller.reseller_id},
        "project_id": {tenant.project_id},
    }
    return callers, protected


@pytest.fixture(scope="module")
def fuzz_db_url(backend: str) -> Iterator[str]:
    with database_url(backend) as url:
        yield url


@pytest.fixture(scope="module")
async def fuzzing(fuzz_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Fuzzing]:
    from cloudlet.app import create_app

    app = create_app(Settings(data_dir=tmp_path_factory.mktemp("fuzz"), database_url=fuzz_db_url,
                              admin_api_key=ADMIN_TOKEN, sim_profile="instant", sim_hosts=50, log_level="critical"))
    async with LifespanApp(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://cloudlet.test", headers=auth(ADMIN_TOKEN),
            timeout=60) as http:
        callers, protected = await _world(http)
        schema = schemathesis.openapi.from_dict(naive_datetimes(ok(await http.get("/openapi.json"))))
        yield Fuzzing(asyncio.get_running_loop(), http, schema, callers, protected)


# Times are naive UTC ISO 8601, as Gcore sends them ("2024-05-01T10:00:00"); JSON Schema's date-time format
# insists on an offset, so the check accepts either.
NAIVE_OR_RFC3339 = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$"


def naive_datetimes(node: Any) -> Any:
    if isinstance(node, dict):
        if node.get("format") == "date-time":
            node = {**{k: v for k, v in node.items() if k != "format"}, "pattern": NAIVE_OR_RFC3339}
        return {k: naive_datetimes(v) for k, v in node.items()}
    if isinstance(node, list):
        return [naive_datetimes(v) for v in node]
    return node


def _operations() -> list[str]:
    """Every operation of the OpenAPI, as "METHOD /path" (read from an app that is built but not started)."""
    import tempfile

    from cloudlet.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(data_dir=Path(tmp), log_level="critical"), run_workers=False)
        document = app.app.openapi_schema.to_schema()
    return sorted(f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item
                  if method in ("get", "put", "post", "patch", "delete"))


OPERATIONS = _operations()


# --- checks ------------------------------------------------------------------------------------


def gcore_error_body(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx and 5xx answers with Gcore's error body."""
    if response.status_code < 400:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"{response.status_code} without a JSON body: {response.content[:200]!r}") from None
    missing = [k for k in ("exception_class", "message", "request_id")
               if not isinstance(body, dict) or not isinstance(body.get(k), str)]
    assert not missing, f"{response.status_code} error body lacks {missing}: {body}"
    return True


CHECKS = [not_a_server_error, response_schema_conformance, gcore_error_body]


# --- the fuzzing -------------------------------------------------------------------------------


def _send(fz: Fuzzing, case: Any, caller: Caller) -> httpx.Response:
    kwargs = case.as_transport_kwargs(base_url="http://cloudlet.test")
    headers = {k: v for k, v in (kwargs.get("headers") or {}).items() if k.lower() != "authorization"}
    request: dict[str, Any] = {"params": kwargs.get("params"), "headers": {**headers, **caller.headers}}
    if "json" in kwargs:
        request["json"] = kwargs["json"]
    elif isinstance(kwargs.get("data"), bytes | str):
        request["content"] = kwargs["data"]
    elif kwargs.get("data") is not None:
        request["data"] = kwargs["data"]
    future = asyncio.run_coroutine_threadsafe(fz.http.request(kwargs["method"], kwargs["url"], **request), fz.loop)
    return future.result(timeout=120)


def _strategy(fz: Fuzzing, operation: Any, caller: Caller) -> Any:
    names = [p.name for p in operation.path_parameters]
    known = {n: caller.known[n] for n in names if n in caller.known}
    strategies = [operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)]
    if known:
        strategies += [operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known),
                       operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=known)]
    return st.one_of(strategies)


def _fuzz(fz: Fuzzing, label: str, caller: Caller, backend: str) -> list[str]:
    method, path = label.split(" ", 1)
    operation = fz.schema[path][method]

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=not LONG_RUN,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=_strategy(fz, operation, caller))
    def run(case: Any) -> None:
        if method == "DELETE" and any(case.path_parameters.get(name) in values
                                      for name, values in fz.protected.items()):
            return  # would delete the keys or tenants the run needs
        response = _send(fz, case, caller)
        FIGURES[f"fuzz cases run [{backend}]"] += 1
        case.validate_response(response, checks=CHECKS)

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - every failure is reported, one per operation
        return [f"{label} as {caller.role}: {str(exc)[:3000]}"]
    return []


@pytest.mark.parametrize("role", ROLES)
async def test_no_5xx_and_every_answer_as_declared(fuzzing, backend, role):
    failures: list[str] = []
    for label in OPERATIONS:
        failures += await asyncio.to_thread(_fuzz, fuzzing, label, fuzzing.callers[role], backend)
    assert not failures, f"{len(failures)} of {len(OPERATIONS)} operations failed:\n\n" + "\n\n".join(failures)


def test_every_operation_is_fuzzed():
    assert len(OPERATIONS) > 100
    assert "POST /v2/instances/{project_id}/{region_id}" in OPERATIONS
