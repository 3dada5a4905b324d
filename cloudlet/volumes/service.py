"""Volume decisions: validate, check quota and state, write the row, its lock and the task. Never commits."""

from __future__ import annotations

from typing import Any

from cloudlet.core.clock import new_id
from cloudlet.core.db import Conn
from cloudlet.core.errors import NotFoundError, ResourceLockedError, ValidationError
from cloudlet.core.scope import Scope
from cloudlet.images import repository as image_repository
from cloudlet.quotas import service as quota_service
from cloudlet.tasks.engine import insert_task
from cloudlet.tasks.types import TaskType
from cloudlet.volumes import repository
from cloudlet.volumes.repository import VolumeFilters
from cloudlet.volumes.schemas import CreateVolumeRequest

DELETABLE_STATUSES = ("available", "error")


async def get_volume_row(conn: Conn, scope: Scope, volume_id: str) -> Any:
    row = await repository.get(conn, scope, volume_id)
    if row is None:
        raise NotFoundError(f"Volume {volume_id} could not be found")
    return row


async def list_volume_rows(conn: Conn, scope: Scope, filters: VolumeFilters, *, limit: int,
                           offset: int) -> tuple[list[Any], int]:
    return await repository.list_rows(conn, scope, filters, limit=limit, offset=offset)


def _source(body: CreateVolumeRequest) -> str:
    """Go marks ``source`` optional: infer it from the id given."""
    if body.source is not None:
        return body.source
    if body.image_id is not None:
        return "image"
    if body.snapshot_id is not None:
        return "snapshot"
    return "new-volume"


async def create_volume(conn: Conn, scope: Scope, body: CreateVolumeRequest, *, request_id: str) -> str:
    """Write a ``creating`` volume locked by its ``create_volume`` task; returns the task id."""
    source = _source(body)
    if source == "snapshot":
        raise ValidationError.for_field("source", "Volume snapshots are not available in cloudlet yet; use source "
                                                  "'new-volume' or 'image'")
    if body.instance_id_to_attach_to is not None:
        raise ValidationError.for_field("instance_id_to_attach_to", "Attaching a volume at creation is not available "
                                                                    "in cloudlet yet; pass the new volume as an "
                                                                    "'existing-volume' when creating an instance")
    if body.attachment_tag is not None:
        raise ValidationError.for_field("attachment_tag", "attachment_tag needs instance_id_to_attach_to")
    if body.lifecycle_policy_ids:
        raise ValidationError.for_field("lifecycle_policy_ids", "Lifecycle (snapshot schedule) policies are not "
                                                                "available in cloudlet yet")
    if body.size is None:
        raise ValidationError.for_field("size", f"size is required for source '{source}'")
    image = None
    if source == "image":
        if not body.image_id:
            raise ValidationError.for_field("image_id", "image_id is required for source 'image'")
        image = await image_repository.get(conn, scope, body.image_id)
        if image is None:
            raise NotFoundError(f"Image {body.image_id} could not be found")
        if body.size < image.min_disk:
            raise ValidationError.for_field("size", f"Image {image.name} needs a volume of at least "
                                                    f"{image.min_disk} GiB")
    await quota_service.enforce(conn, scope.client_id, scope.region_id,
                                {"volume_count": 1, "volume_size": body.size})
    volume_id, task_id = new_id(), new_id()
    tags = {**(body.metadata or {}), **(body.tags or {})}
    await repository.insert(
        conn, scope, id=volume_id, name=body.name, size=body.size, volume_type=body.type_name or "standard",
        status="creating", bootable=image is not None, image_id=image.id if image is not None else None,
        snapshot_id=None,
        image_metadata={"image_id": image.id, "image_name": image.name, "os_distro": image.os_distro,
                        "os_version": image.os_version, "os_type": image.os_type} if image is not None else None,
        instance_id=None, boot_index=None, delete_on_termination=False, attachment_tag=None, device=None,
        attached_at=None, tags=[{"key": k, "value": v, "read_only": False} for k, v in tags.items()],
        task_id=task_id, creator_task_id=task_id,
    )
    return await insert_task(
        conn, task_id=task_id, task_type=TaskType.CREATE_VOLUME, user_id=scope.principal.user_id,
        client_id=scope.client_id, project_id=scope.project_id, region_id=scope.region_id, resource_id=volume_id,
        request_id=request_id,
        data={"volume_id": volume_id, "name": body.name, "size": body.size, "source": source,
              "image_id": image.id if image is not None else None, "type_name": body.type_name or "standard"},
    )


async def delete_volume(conn: Conn, scope: Scope, volume_id: str, *, snapshots: str | None, request_id: str) -> str:
    """Lock a free volume for its ``delete_volume`` task (status ``deleting``); returns the task id."""
    row = await get_volume_row(conn, scope, volume_id)
    for snapshot_id in [s.strip() for s in (snapshots or "").split(",") if s.strip()]:
        # cloudlet keeps no snapshots, so any snapshot id named here is unknown
        raise NotFoundError(f"Snapshot {snapshot_id[:64]} could not be found")
    if row.task_id is not None:
        raise ResourceLockedError(f"Volume {volume_id} is locked by task {row.task_id}")
    if row.instance_id is not None:
        raise ValidationError(f"Volume {volume_id} is attached to instance {row.instance_id}; detach it or delete "
                              f"the instance first")
    if row.status not in DELETABLE_STATUSES:
        raise ValidationError(f"Volume {volume_id} cannot be deleted while its status is {row.status}")
    task_id = new_id()
    if not await repository.take_lock(conn, scope, volume_id, task_id, "deleting"):
        raise ResourceLockedError(f"Volume {volume_id} is locked by another task")
    return await insert_task(
        conn, task_id=task_id, task_type=TaskType.DELETE_VOLUME, user_id=scope.principal.user_id,
        client_id=scope.client_id, project_id=scope.project_id, region_id=scope.region_id, resource_id=volume_id,
        request_id=request_id, data={"volume_id": volume_id, "previous_status": row.status},
    )
