"""Instance lifecycle decisions: power actions, resize, and which flavors fit. Never commits.

Every operation goes through the one state table (``states.ACTIONS``): the compute driver must
support it (else 400), the lock must be free and the vm_state must allow it (else 409). Then the
lock is taken with the transitional task_state and the task row written, in the caller's transaction.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from cloudlet.compute.base import DriverInfo
from cloudlet.core.clock import new_id
from cloudlet.core.db import Conn
from cloudlet.core.errors import NotFoundError, ResourceLockedError, ValidationError
from cloudlet.core.scope import Scope
from cloudlet.flavors import repository as flavor_repository
from cloudlet.images import repository as image_repository
from cloudlet.instances import repository
from cloudlet.instances.schemas import VolumeRequest
from cloudlet.instances.service import get_instance_row
from cloudlet.instances.states import POWER_ACTIONS, Transition, check_allowed, check_supported
from cloudlet.quotas import service as quota_service
from cloudlet.tasks.engine import insert_task
from cloudlet.volumes import repository as volume_repository

SHARED_FLAVOR_PREFIX = "g1s-shared"  # counted against shared_vm_count instead of vm_count


# --- locking and the task row ----------------------------------------------------------------


def _locked(row: Any) -> ResourceLockedError:
    return ResourceLockedError(f"Instance {row.id} is locked by task {row.task_id}")


def _check_can_start(row: Any, action: str) -> Transition:
    """The lock first: while a task runs, the vm_state is about to change anyway."""
    if row.task_id is not None:
        raise _locked(row)
    return check_allowed(action, row.id, row.vm_state)


async def _lock_and_insert_task(conn: Conn, scope: Scope, row: Any, transition: Transition, *, action: str,
                                data: dict[str, Any], request_id: str) -> str:
    task_id = new_id()
    if not await repository.take_lock(conn, scope, row.id, task_id=task_id, task_state=transition.task_state,
                                      vm_state=row.vm_state):
        # another request locked or changed the instance after it was read: report what it is now
        _check_can_start(await get_instance_row(conn, scope, row.id), action)
        raise ResourceLockedError(f"Instance {row.id} changed while this request was handled; try again")
    return await insert_task(
        conn, task_id=task_id, task_type=transition.task_type, user_id=scope.principal.user_id,
        client_id=scope.client_id, project_id=scope.project_id, region_id=scope.region_id,
        resource_id=row.id, request_id=request_id, host=row.host, data={"instance_id": row.id, "action": action, **data},
    )


# --- power actions -------------------------------------------------------------------------


async def perform_action(conn: Conn, scope: Scope, instance_id: str, action: str, *, driver: DriverInfo,
                         request_id: str, activate_profile: bool | None = None) -> str:
    """Lock the instance for a power action's task; returns the task id."""
    if action not in POWER_ACTIONS:
        raise ValidationError.for_field("action", f"Wrong action \"{action}\": use one of {', '.join(POWER_ACTIONS)}")
    row = await get_instance_row(conn, scope, instance_id)
    check_supported(action, driver)
    transition = _check_can_start(row, action)
    data = {"activate_profile": activate_profile} if action == "start" else {}
    return await _lock_and_insert_task(conn, scope, row, transition, action=action, data=data,
                                       request_id=request_id)


# --- which flavors fit ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class BootNeeds:
    """What the boot disk asks of a flavor."""

    os_type: str
    architecture: str | None
    min_ram: int
    image_name: str | None


def _os_refusal(flavor: Any, os_type: str) -> str | None:
    # the same rule as create: Windows needs a Windows flavor (g1w-*), which nothing else may use
    if os_type == "windows" and flavor.os_type != "windows":
        return f"Windows needs a Windows flavor (g1w-*); {flavor.id} is not one"
    if os_type != "windows" and flavor.os_type == "windows":
        return f"Flavor {flavor.id} is for Windows images only"
    return None


def _refusal(flavor: Any, needs: BootNeeds) -> str | None:
    """Why ``flavor`` cannot run a guest with these needs, or None if it can."""
    if flavor.disabled:
        return f"Flavor {flavor.id} is disabled in this region"
    if needs.architecture is not None and flavor.architecture != needs.architecture:
        return f"Flavor {flavor.id} is for {flavor.architecture}, not {needs.architecture}"
    os_refusal = _os_refusal(flavor, needs.os_type)
    if os_refusal is not None:
        return os_refusal
    if flavor.ram < needs.min_ram:
        return (f"Image {needs.image_name} needs at least {needs.min_ram} MiB of RAM; "
                f"flavor {flavor.id} has {flavor.ram}")
    return None


async def _image_needs(conn: Conn, scope: Scope, image_id: str | None) -> tuple[str | None, int, str | None]:
    """(architecture, min_ram, name) of an image; an image since deleted asks nothing."""
    image = await image_repository.get(conn, scope, image_id) if image_id else None
    if image is None:
        return None, 0, None
    return image.architecture, image.min_ram, image.name


async def _instance_needs(conn: Conn, scope: Scope, row: Any) -> BootNeeds:
    boot = next((v for v in await volume_repository.attached_to(conn, [row.id]) if v.boot_index == 0), None)
    image_id = (boot.image_id or (boot.image_metadata or {}).get("image_id")) if boot is not None else None
    _, min_ram, name = await _image_needs(conn, scope, image_id)
    # the instance runs on its current flavor's architecture, whatever the image says
    return BootNeeds(os_type=row.os_type, architecture=row.flavor_architecture or "x86_64", min_ram=min_ram,
                     image_name=name)


async def resize_targets(conn: Conn, scope: Scope, instance_id: str) -> list[Any]:
    """The flavors ``changeflavor`` accepts for this instance (its boot volume's size does not matter)."""
    row = await get_instance_row(conn, scope, instance_id)
    needs = await _instance_needs(conn, scope, row)
    return [f for f in await flavor_repository.list_region_catalog(conn, scope.region_id)
            if f.id != row.flavor_id and _refusal(f, needs) is None]


async def _volume_needs(conn: Conn, scope: Scope, n: int, v: VolumeRequest) -> BootNeeds | None:
    """What volume ``n`` of a planned instance asks of a flavor if it boots it; None if it cannot boot."""
    field = f"volumes.{n}"
    if v.source == "image":
        if not v.image_id:
            raise ValidationError.for_field(f"{field}.image_id", "image_id is required for source 'image'")
        image = await image_repository.get(conn, scope, v.image_id)
        if image is None:
            raise NotFoundError(f"Image {v.image_id} could not be found")
        if v.size is not None and v.size < image.min_disk:
            raise ValidationError.for_field(f"{field}.size", f"Image {image.name} needs a volume of at least "
                                                             f"{image.min_disk} GiB")
        return BootNeeds(os_type=image.os_type, architecture=image.architecture, min_ram=image.min_ram,
                         image_name=image.name)
    if v.source == "existing-volume":
        if not v.volume_id:
            raise ValidationError.for_field(f"{field}.volume_id", "volume_id is required for source "
                                                                  "'existing-volume'")
        volume = await volume_repository.get(conn, scope, v.volume_id)
        if volume is None:
            raise NotFoundError(f"Volume {v.volume_id} could not be found")
        if not volume.bootable:
            return None
        metadata = volume.image_metadata or {}
        architecture, min_ram, name = await _image_needs(conn, scope, volume.image_id or metadata.get("image_id"))
        return BootNeeds(os_type=metadata.get("os_type", "linux"), architecture=architecture, min_ram=min_ram,
                         image_name=name)
    if v.source == "new-volume":
        return None
    raise ValidationError.for_field(f"{field}.source", "Snapshots and app templates are not available in cloudlet "
                                                       "yet; use source 'image', 'new-volume' or 'existing-volume'")


async def create_targets(conn: Conn, scope: Scope, volumes: list[VolumeRequest]) -> list[Any]:
    """The flavors a create with these volumes accepts: those that fit the boot volume's image."""
    needs = [await _volume_needs(conn, scope, n, v) for n, v in enumerate(volumes)]
    # the boot volume is the one with boot_index 0, else the first bootable one (as create decides)
    chosen = [i for i, v in enumerate(volumes) if v.boot_index == 0] or [i for i, x in enumerate(needs) if x]
    boot = needs[chosen[0]] if chosen else None
    if boot is None:
        raise ValidationError.for_field("volumes", "A bootable volume is required: an 'image' volume or an "
                                                   "existing bootable volume")
    return [f for f in await flavor_repository.list_region_catalog(conn, scope.region_id)
            if _refusal(f, boot) is None]


# --- resize --------------------------------------------------------------------------------


def _quota_delta(row: Any, flavor: Any) -> dict[str, int]:
    delta = {"cpu_count": flavor.vcpus - row.vcpus, "ram": flavor.ram - row.ram}
    was_shared, is_shared = row.flavor_id.startswith(SHARED_FLAVOR_PREFIX), flavor.id.startswith(SHARED_FLAVOR_PREFIX)
    if was_shared != is_shared:
        delta["shared_vm_count" if is_shared else "vm_count"] = 1
    return delta


async def resize_instance(conn: Conn, scope: Scope, instance_id: str, flavor_id: str, *, driver: DriverInfo,
                          request_id: str) -> str:
    """Lock the instance for a resize_vm task to ``flavor_id``; returns the task id."""
    row = await get_instance_row(conn, scope, instance_id)
    check_supported("resize", driver)
    if flavor_id == row.flavor_id:
        raise ValidationError.for_field("flavor_id", f"Instance {instance_id} already has flavor {flavor_id}")
    flavor = await flavor_repository.get(conn, scope.region_id, flavor_id)
    if flavor is None:
        raise ValidationError.for_field("flavor_id", f"Flavor {flavor_id} does not exist in this region")
    refusal = _refusal(flavor, await _instance_needs(conn, scope, row))
    if refusal is not None:
        raise ValidationError.for_field("flavor_id", f"{refusal}: it is not a resize target of instance "
                                                     f"{instance_id}")
    transition = _check_can_start(row, "resize")
    await quota_service.enforce(conn, scope.client_id, scope.region_id, _quota_delta(row, flavor))
    return await _lock_and_insert_task(conn, scope, row, transition, action="resize",
                                       data={"flavor_id": flavor.id, "old_flavor_id": row.flavor_id},
                                       request_id=request_id)
