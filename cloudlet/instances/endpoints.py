"""Instances API routes: parse, call one service function, serialise."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Literal

from litestar.params import JSONBody
from litestar import delete, get, patch, post
from litestar.params import QueryParameter

from cloudlet.core.auth import PrincipalDep
from cloudlet.core.clock import parse_timestamp
from cloudlet.core.errors import NotFoundError, ValidationError
from cloudlet.core.http import json_bytes, request_id_var
from cloudlet.core.pagination import page_bounds, split_multi
from cloudlet.core.scope import resolve_scope
from cloudlet.instances import service, views
from cloudlet.instances import steps as _steps  # noqa: F401  (registers the task handlers)
from cloudlet.instances.repository import InstanceFilters
from cloudlet.instances.states import Status
from cloudlet.instances.schemas import (
    CreateInstanceRequest,
    Instance,
    InstanceList,
    TaskIdList,
    UpdateInstanceRequest,
)
from cloudlet.runtime import RuntimeDep

TAGS = ["instances"]
BASE = "/v1/instances/{project_id:int}/{region_id:int}"
OrderBy = Literal["created.asc", "created.desc", "name.asc", "name.desc", "status.asc", "status.desc"]


def _time_param(value: str | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        raise ValidationError.for_field(name, f"{value!r} is not an ISO 8601 date-time") from None


def _json_param(value: str | None, name: str, kind: type) -> object:
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        raise ValidationError.for_field(name, "must be JSON") from None
    if not isinstance(parsed, kind):
        raise ValidationError.for_field(name, f"must be a JSON {'object' if kind is dict else 'array'}")
    return parsed


def _tag_key_value(value: str | None, name: str) -> dict[str, str]:
    """``{"k": "v"}`` (Go's metadata_kv form) or ``k=v``."""
    if value is None:
        return {}
    if value.lstrip().startswith("{"):
        parsed = _json_param(value, name, dict)
        return {str(k): str(v) for k, v in parsed.items()}  # type: ignore[union-attr]
    key, sep, val = value.partition("=")
    if not sep or not key:
        raise ValidationError.for_field(name, 'use a JSON object such as {"key": "value"}, or key=value')
    return {key: val}


@post("/v2/instances/{project_id:int}/{region_id:int}", status_code=200, tags=TAGS,
      summary="Create one or more instances", description="Returns one task per instance (create_vm).")
async def create_instance(project_id: int, region_id: int, data: JSONBody[CreateInstanceRequest], principal: PrincipalDep,
                          runtime: RuntimeDep) -> TaskIdList:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        task_ids = await service.create_instances(conn, scope, data, request_id=request_id_var.get())
    await runtime.after_commit(task_ids)
    return TaskIdList(tasks=task_ids)


@get(BASE, tags=TAGS, summary="List instances")
async def list_instances(
    project_id: int,
    region_id: int,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    limit: int | None = None,
    offset: int | None = None,
    name: str | None = None,
    status: str | None = None,
    flavor_id: str | None = None,
    flavor_prefix: str | None = None,
    exclude_flavor_prefix: str | None = None,
    exclude_secgroup: str | None = None,
    uuid: str | None = None,
    ip: str | None = None,
    changes_since: Annotated[str | None, QueryParameter(name="changes-since")] = None,
    changes_before: Annotated[str | None, QueryParameter(name="changes-before")] = None,
    order_by: OrderBy = "created.desc",
    metadata_kv: str | None = None,
    metadata_v: str | None = None,
    tag_key_value: str | None = None,
    tag_value: list[str] | None = None,
    only_isolated: bool = False,
    only_with_fixed_external_ip: bool = False,
    available_floating: bool = False,
    include_baremetal: bool = False,
    include_ai: bool = False,
    include_k8s: bool = True,
    with_ddos: bool = False,
    with_interfaces_name: bool = False,
    profile_name: str | None = None,
    protection_status: Literal["Active", "Queued", "Error"] | None = None,
    type_ddos_profile: Literal["basic", "advanced"] | None = None,
) -> InstanceList:
    limit, offset = page_bounds(limit, offset)
    if status is not None and status not in Status.__members__:
        raise ValidationError.for_field("status", f"Unknown status {status!r}")
    since = _time_param(changes_since, "changes-since")
    before = _time_param(changes_before, "changes-before")
    if since and before and since > before:
        raise ValidationError.for_field("changes-since", "changes-since must not be after changes-before")
    values = [str(v) for v in _json_param(metadata_v, "metadata_v", list) or []]  # type: ignore[union-attr]
    filters = InstanceFilters(
        name=name, status=status, flavor_id=flavor_id, flavor_prefix=flavor_prefix,
        exclude_flavor_prefix=exclude_flavor_prefix, uuid=uuid, ip=ip, exclude_secgroup=exclude_secgroup,
        changes_since=since, changes_before=before,
        tag_key_values={**_tag_key_value(metadata_kv, "metadata_kv"), **_tag_key_value(tag_key_value, "tag_key_value")},
        tag_values=values + split_multi(tag_value), only_isolated=only_isolated, available_floating=available_floating,
        only_with_fixed_external_ip=only_with_fixed_external_ip,
        # cloudlet runs only virtual instances without DDoS profiles: these filters can match nothing
        no_match=bool(with_ddos and (profile_name or protection_status or type_ddos_profile)),
    )
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        rows, total = await service.list_instance_rows(conn, scope, filters, order_by=order_by, limit=limit,
                                                       offset=offset)
        data = await views.list_json(conn, scope, rows, total, with_interfaces_name=with_interfaces_name)
    return json_bytes(data)  # type: ignore[return-value]  (the body is an InstanceList, already encoded)


@get(BASE + "/{instance_id:str}", tags=TAGS, summary="Get an instance")
async def get_instance(project_id: int, region_id: int, instance_id: str, principal: PrincipalDep,
                       runtime: RuntimeDep) -> Instance:
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        data = await views.instance_json(conn, scope, instance_id)
    if data is None:
        raise NotFoundError(f"Instance {instance_id} could not be found")
    return json_bytes(data)  # type: ignore[return-value]  (the body is an Instance, already encoded)


@patch(BASE + "/{instance_id:str}", tags=TAGS, summary="Rename an instance or merge-patch its tags")
async def update_instance(project_id: int, region_id: int, instance_id: str, data: JSONBody[UpdateInstanceRequest],
                          principal: PrincipalDep, runtime: RuntimeDep) -> Instance:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        await service.update_instance(conn, scope, instance_id, data)
        row = await service.get_instance_row(conn, scope, instance_id)
        return (await views.render(conn, scope, [row], detailed=True))[0]


@delete(BASE + "/{instance_id:str}", status_code=200, tags=TAGS, summary="Delete an instance (task delete_vm)")
async def delete_instance(
    project_id: int,
    region_id: int,
    instance_id: str,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    volumes: str | None = None,
    delete_floatings: bool | None = None,
    floatings: str | None = None,
    reserved_fixed_ips: str | None = None,
) -> TaskIdList:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        task_id = await service.delete_instance(
            conn, scope, instance_id, volumes=volumes, delete_floatings=delete_floatings, floatings=floatings,
            reserved_fixed_ips=reserved_fixed_ips, request_id=request_id_var.get(),
        )
    await runtime.after_commit([task_id])
    return TaskIdList(tasks=[task_id])


routes = [create_instance, list_instances, get_instance, update_instance, delete_instance]
