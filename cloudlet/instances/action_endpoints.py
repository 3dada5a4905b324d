"""Instance lifecycle routes: power actions (v2 and the deprecated v1 ones), resize, available flavors."""

from __future__ import annotations

from litestar import get, post
from litestar.params import JSONBody

from cloudlet.core.auth import PrincipalDep
from cloudlet.core.http import request_id_var
from cloudlet.core.scope import resolve_scope
from cloudlet.instances import action_steps as _action_steps  # noqa: F401  (registers the task handlers)
from cloudlet.instances import actions, service, views
from cloudlet.instances.action_schemas import (
    ActionRequest,
    AvailableFlavorsRequest,
    ChangeFlavorRequest,
    AvailableFlavorList,
    StartRequest,
    available_flavor_list,
)
from cloudlet.instances.schemas import Instance, TaskIdList
from cloudlet.runtime import Runtime, RuntimeDep

TAGS = ["instances"]
BASE = "/v1/instances/{project_id:int}/{region_id:int}"


@post("/v2/instances/{project_id:int}/{region_id:int}/{instance_id:str}/action", status_code=200, tags=TAGS,
      summary="Start, stop, reboot, hard-reboot, suspend or resume an instance",
      description="Returns one task: start_vm, stop_vm, soft_reboot_vm, hard_reboot_vm, suspend_vm or resume_vm.")
async def perform_action(project_id: int, region_id: int, instance_id: str, data: JSONBody[ActionRequest],
                         principal: PrincipalDep, runtime: RuntimeDep) -> TaskIdList:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        task_id = await actions.perform_action(conn, scope, instance_id, data.action, driver=runtime.driver.info(),
                                               request_id=request_id_var.get(),
                                               activate_profile=data.activate_profile)
    await runtime.after_commit([task_id])
    return TaskIdList(tasks=[task_id])


async def _v1_action(action: str, project_id: int, region_id: int, instance_id: str, principal: PrincipalDep,
                     runtime: Runtime, activate_profile: bool | None = None) -> Instance:
    """Gcore's deprecated v1 actions answer with the instance as the request left it (spec fact 2):
    in its transitional state, ``task_id`` naming the task that carries the action out."""
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        task_id = await actions.perform_action(conn, scope, instance_id, action, driver=runtime.driver.info(),
                                               request_id=request_id_var.get(), activate_profile=activate_profile)
        row = await service.get_instance_row(conn, scope, instance_id)
        instance = (await views.render(conn, scope, [row], detailed=True))[0]
    await runtime.after_commit([task_id])
    return instance


@post(BASE + "/{instance_id:str}/start", status_code=200, tags=TAGS, deprecated=True,
      summary="Start an instance (deprecated: use the v2 action)")
async def start_instance(project_id: int, region_id: int, instance_id: str, principal: PrincipalDep,
                         runtime: RuntimeDep, data: JSONBody[StartRequest | None] = None) -> Instance:
    return await _v1_action("start", project_id, region_id, instance_id, principal, runtime,
                            activate_profile=data.activate_profile if data is not None else None)


@post(BASE + "/{instance_id:str}/stop", status_code=200, tags=TAGS, deprecated=True,
      summary="Stop an instance (deprecated: use the v2 action)")
async def stop_instance(project_id: int, region_id: int, instance_id: str, principal: PrincipalDep,
                        runtime: RuntimeDep) -> Instance:
    return await _v1_action("stop", project_id, region_id, instance_id, principal, runtime)


@post(BASE + "/{instance_id:str}/reboot", status_code=200, tags=TAGS, deprecated=True,
      summary="Soft-reboot an instance (deprecated: use the v2 action)")
async def reboot_instance(project_id: int, region_id: int, instance_id: str, principal: PrincipalDep,
                          runtime: RuntimeDep) -> Instance:
    return await _v1_action("reboot", project_id, region_id, instance_id, principal, runtime)


@post(BASE + "/{instance_id:str}/powercycle", status_code=200, tags=TAGS, deprecated=True,
      summary="Hard-reboot an instance (deprecated: use the v2 action)")
async def powercycle_instance(project_id: int, region_id: int, instance_id: str, principal: PrincipalDep,
                              runtime: RuntimeDep) -> Instance:
    return await _v1_action("powercycle", project_id, region_id, instance_id, principal, runtime)


@post(BASE + "/{instance_id:str}/suspend", status_code=200, tags=TAGS, deprecated=True,
      summary="Suspend an instance (deprecated: use the v2 action)")
async def suspend_instance(project_id: int, region_id: int, instance_id: str, principal: PrincipalDep,
                           runtime: RuntimeDep) -> Instance:
    return await _v1_action("suspend", project_id, region_id, instance_id, principal, runtime)


@post(BASE + "/{instance_id:str}/resume", status_code=200, tags=TAGS, deprecated=True,
      summary="Resume a suspended instance (deprecated: use the v2 action)")
async def resume_instance(project_id: int, region_id: int, instance_id: str, principal: PrincipalDep,
                          runtime: RuntimeDep) -> Instance:
    return await _v1_action("resume", project_id, region_id, instance_id, principal, runtime)


@post(BASE + "/{instance_id:str}/changeflavor", status_code=200, tags=TAGS,
      summary="Resize an instance to another flavor (task resize_vm)",
      description="The flavor must be one of the instance's available_flavors. The resize confirms itself; "
                  "a stopped instance stays stopped.")
async def resize_instance(project_id: int, region_id: int, instance_id: str, data: JSONBody[ChangeFlavorRequest],
                          principal: PrincipalDep, runtime: RuntimeDep) -> TaskIdList:
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        task_id = await actions.resize_instance(conn, scope, instance_id, data.flavor_id,
                                                driver=runtime.driver.info(), request_id=request_id_var.get())
    await runtime.after_commit([task_id])
    return TaskIdList(tasks=[task_id])


@get(BASE + "/{instance_id:str}/available_flavors", tags=TAGS, summary="Flavors an instance can be resized to")
async def list_resize_flavors(project_id: int, region_id: int, instance_id: str, principal: PrincipalDep,
                              runtime: RuntimeDep, include_prices: bool = False) -> AvailableFlavorList:
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        rows = await actions.resize_targets(conn, scope, instance_id)
    return available_flavor_list(rows, include_prices=include_prices)


@post(BASE + "/available_flavors", status_code=200, tags=TAGS,
      summary="Flavors an instance with these volumes can be created with")
async def list_create_flavors(project_id: int, region_id: int, data: JSONBody[AvailableFlavorsRequest],
                              principal: PrincipalDep, runtime: RuntimeDep,
                              include_prices: bool = False) -> AvailableFlavorList:
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        rows = await actions.create_targets(conn, scope, data.volumes)
    return available_flavor_list(rows, include_prices=include_prices)


routes = [
    perform_action, start_instance, stop_instance, reboot_instance, powercycle_instance, suspend_instance,
    resume_instance, resize_instance, list_resize_flavors, list_create_flavors,
]
