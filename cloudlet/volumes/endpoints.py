"""Volumes API routes."""

from __future__ import annotations

from litestar import delete, get, post
from litestar.params import JSONBody

from cloudlet.core.auth import PrincipalDep
from cloudlet.core.http import request_id_var
from cloudlet.core.pagination import page_bounds
from cloudlet.core.scope import resolve_scope
from cloudlet.images.service import tag_filters
from cloudlet.runtime import RuntimeDep
from cloudlet.volumes import service
from cloudlet.volumes import steps as _steps  # noqa: F401  (registers the task handlers)
from cloudlet.volumes.repository import VolumeFilters
from cloudlet.volumes.schemas import CreateVolumeRequest, TaskIdList, Volume, VolumeList, volume_out

TAGS = ["volumes"]
BASE = "/v1/volumes/{project_id:int}/{region_id:int}"


@post(BASE, status_code=200, tags=TAGS, summary="Create a volume (task create_volume)")
async def create_volume(project_id: int, region_id: int, data: JSONBody[CreateVolumeRequest],
                        principal: PrincipalDep, runtime: RuntimeDep) -> TaskIdList:
    """Sources ``new-volume`` (empty) and ``image`` (bootable, at least the image's ``min_disk``).
    The task ends with ``created_resources.volumes = [id]``."""
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        task_id = await service.create_volume(conn, scope, data, request_id=request_id_var.get())
    await runtime.after_commit([task_id])
    return TaskIdList(tasks=[task_id])


@get(BASE, tags=TAGS, summary="List volumes")
async def list_volumes(
    project_id: int,
    region_id: int,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    limit: int | None = None,
    offset: int | None = None,
    bootable: bool | None = None,
    has_attachments: bool | None = None,
    id_part: str | None = None,
    name_part: str | None = None,
    instance_id: str | None = None,
    cluster_id: str | None = None,
    tag_key: list[str] | None = None,
    tag_key_value: str | None = None,
    metadata_k: str | None = None,
    metadata_kv: str | None = None,
) -> VolumeList:
    """Newest first. ``id_part`` and ``name_part`` are case-insensitive substrings; ``tag_key_value``
    is a JSON object (``{"key": "value"}``) or ``key=value``."""
    limit, offset = page_bounds(limit, offset)
    keys, pairs = tag_filters(tag_key, tag_key_value, metadata_k, metadata_kv)
    filters = VolumeFilters(bootable=bootable, has_attachments=has_attachments, id_part=id_part,
                            name_part=name_part, instance_id=instance_id, tag_keys=keys, tag_key_values=pairs,
                            cluster_id=cluster_id)
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        rows, total = await service.list_volume_rows(conn, scope, filters, limit=limit, offset=offset)
    return VolumeList(count=total, results=[volume_out(r, scope.region_name) for r in rows])


@get(BASE + "/{volume_id:str}", tags=TAGS, summary="Get a volume")
async def get_volume(project_id: int, region_id: int, volume_id: str, principal: PrincipalDep,
                     runtime: RuntimeDep) -> Volume:
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        return volume_out(await service.get_volume_row(conn, scope, volume_id), scope.region_name)


@delete(BASE + "/{volume_id:str}", status_code=200, tags=TAGS, summary="Delete a volume (task delete_volume)")
async def delete_volume(project_id: int, region_id: int, volume_id: str, principal: PrincipalDep,
                        runtime: RuntimeDep, snapshots: str | None = None) -> TaskIdList:
    """Only a volume that is not attached to an instance and not locked by another task."""
    async with runtime.db.transaction() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        task_id = await service.delete_volume(conn, scope, volume_id, snapshots=snapshots,
                                              request_id=request_id_var.get())
    await runtime.after_commit([task_id])
    return TaskIdList(tasks=[task_id])


routes = [create_volume, list_volumes, get_volume, delete_volume]
