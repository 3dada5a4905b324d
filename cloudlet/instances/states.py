"""The instance state machine, in one table.

``status`` is derived from (vm_state, task_state) exactly as Nova's ``_STATE_MAP`` does
(behaviour.md 2.1), so during a stop the status stays ACTIVE and only task_state shows
``powering-off``. ``ACTIONS`` says, for every operation: where it may start, what the instance
shows while it runs, where it ends, and which Gcore task type carries it.
"""

from __future__ import annotations

import dataclasses
from enum import StrEnum

from cloudlet.compute.base import Capability, DriverInfo
from cloudlet.core.errors import InvalidStateError, ValidationError
from cloudlet.tasks.types import TaskType


class VmState(StrEnum):
    ACTIVE = "active"
    BUILDING = "building"
    DELETED = "deleted"
    ERROR = "error"
    PAUSED = "paused"
    RESCUED = "rescued"
    RESIZED = "resized"
    SHELVED = "shelved"
    SHELVED_OFFLOADED = "shelved_offloaded"
    SOFT_DELETED = "soft-deleted"
    STOPPED = "stopped"
    SUSPENDED = "suspended"


class Status(StrEnum):
    ACTIVE = "ACTIVE"
    BUILD = "BUILD"
    DELETED = "DELETED"
    ERROR = "ERROR"
    HARD_REBOOT = "HARD_REBOOT"
    MIGRATING = "MIGRATING"
    PASSWORD = "PASSWORD"
    PAUSED = "PAUSED"
    REBOOT = "REBOOT"
    REBUILD = "REBUILD"
    RESCUE = "RESCUE"
    RESIZE = "RESIZE"
    REVERT_RESIZE = "REVERT_RESIZE"
    SHELVED = "SHELVED"
    SHELVED_OFFLOADED = "SHELVED_OFFLOADED"
    SHUTOFF = "SHUTOFF"
    SOFT_DELETED = "SOFT_DELETED"
    SUSPENDED = "SUSPENDED"
    UNKNOWN = "UNKNOWN"
    VERIFY_RESIZE = "VERIFY_RESIZE"


_DEFAULT_STATUS: dict[str, Status] = {
    VmState.ACTIVE: Status.ACTIVE,
    VmState.BUILDING: Status.BUILD,
    VmState.STOPPED: Status.SHUTOFF,
    VmState.RESIZED: Status.VERIFY_RESIZE,
    VmState.PAUSED: Status.PAUSED,
    VmState.SUSPENDED: Status.SUSPENDED,
    VmState.RESCUED: Status.RESCUE,
    VmState.ERROR: Status.ERROR,
    VmState.DELETED: Status.DELETED,
    VmState.SOFT_DELETED: Status.SOFT_DELETED,
    VmState.SHELVED: Status.SHELVED,
    VmState.SHELVED_OFFLOADED: Status.SHELVED_OFFLOADED,
}

_RESIZE_TASKS = {"resize_prep", "resize_migrating", "resize_migrated", "resize_finish"}
_REBOOT_TASKS = {"rebooting", "reboot_pending", "reboot_started"}
_HARD_REBOOT_TASKS = {"rebooting_hard", "reboot_pending_hard", "reboot_started_hard"}
_REBUILD_TASKS = {"rebuilding", "rebuild_block_device_mapping", "rebuild_spawning"}


def status_for(vm_state: str, task_state: str | None) -> Status:
    """Nova's (vm_state, task_state) -> status map."""
    ts = task_state or ""
    if vm_state == VmState.ACTIVE:
        if ts in _REBOOT_TASKS:
            return Status.REBOOT
        if ts in _HARD_REBOOT_TASKS:
            return Status.HARD_REBOOT
        if ts == "updating_password":
            return Status.PASSWORD
        if ts in _REBUILD_TASKS:
            return Status.REBUILD
        if ts == "migrating":
            return Status.MIGRATING
        if ts in _RESIZE_TASKS:
            return Status.RESIZE
    elif vm_state == VmState.STOPPED:
        if ts in _RESIZE_TASKS:
            return Status.RESIZE
        if ts in _REBUILD_TASKS:
            return Status.REBUILD
    elif vm_state == VmState.RESIZED and ts == "resize_reverting":
        return Status.REVERT_RESIZE
    elif vm_state == VmState.PAUSED and ts == "migrating":
        return Status.MIGRATING
    elif vm_state == VmState.ERROR and ts in _REBUILD_TASKS:
        return Status.REBUILD
    return _DEFAULT_STATUS.get(vm_state, Status.UNKNOWN)


@dataclasses.dataclass(frozen=True, slots=True)
class Transition:
    """One operation: where it may start, how it looks while running, where it ends."""

    action: str
    task_type: TaskType
    allowed_from: frozenset[VmState]
    task_state: str | None  # the task_state shown while the task runs (Nova shows none for some)
    final_vm_state: VmState | None  # None: the vm_state it started from (resize keeps a stopped VM stopped)
    requires: str | None = None  # the driver Capability without which the action is refused (400)

    def final_state(self, started_from: str) -> VmState:
        return self.final_vm_state or VmState(started_from)


def _t(action: str, task_type: TaskType, allowed: set[VmState], task_state: str | None,
       final: VmState | None, *, requires: str | None = None) -> Transition:
    return Transition(action, task_type, frozenset(allowed), task_state, final, requires)


_ANY = set(VmState)
ACTIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        _t("start", TaskType.START_VM, {VmState.STOPPED}, "powering-on", VmState.ACTIVE),
        _t("stop", TaskType.STOP_VM, {VmState.ACTIVE, VmState.ERROR, VmState.RESCUED}, "powering-off",
           VmState.STOPPED),
        _t("reboot", TaskType.SOFT_REBOOT_VM, {VmState.ACTIVE}, "rebooting", VmState.ACTIVE),
        _t("reboot_hard", TaskType.HARD_REBOOT_VM,
           {VmState.ACTIVE, VmState.STOPPED, VmState.PAUSED, VmState.SUSPENDED, VmState.ERROR},
           "rebooting_hard", VmState.ACTIVE),
        _t("suspend", TaskType.SUSPEND_VM, {VmState.ACTIVE}, "suspending", VmState.SUSPENDED,
           requires=Capability.SUSPEND),
        _t("resume", TaskType.RESUME_VM, {VmState.SUSPENDED}, "resuming", VmState.ACTIVE,
           requires=Capability.SUSPEND),
        _t("resize", TaskType.RESIZE_VM, {VmState.ACTIVE, VmState.STOPPED}, "resize_prep", None,
           requires=Capability.RESIZE),
        _t("delete", TaskType.DELETE_VM, _ANY - {VmState.DELETED}, "deleting", VmState.DELETED),
        _t("attach_interface", TaskType.ATTACH_VM_INTERFACE,
           {VmState.ACTIVE, VmState.PAUSED, VmState.STOPPED}, None, None, requires=Capability.HOT_PLUG_NIC),
        _t("detach_interface", TaskType.DETACH_VM_INTERFACE,
           {VmState.ACTIVE, VmState.PAUSED, VmState.STOPPED}, None, None, requires=Capability.HOT_PLUG_NIC),
        _t("put_into_servergroup", TaskType.PUT_INTO_SERVER_GROUP, _ANY - {VmState.DELETED, VmState.BUILDING},
           None, None),
        _t("remove_from_servergroup", TaskType.REMOVE_FROM_SERVER_GROUP,
           _ANY - {VmState.DELETED, VmState.BUILDING}, None, None),
    )
}
ACTIONS["powercycle"] = ACTIONS["reboot_hard"]

# What ``POST /v2/.../action`` accepts: Gcore's enum plus "powercycle", which the SDK docs still name.
POWER_ACTIONS = ("start", "stop", "reboot", "reboot_hard", "suspend", "resume", "powercycle")

# The Nova task_states a resize walks through after resize_prep (behaviour.md 2.1).
RESIZE_PHASES = ("resize_migrating", "resize_migrated", "resize_finish")


def check_allowed(action: str, instance_id: str, vm_state: str) -> Transition:
    """Return the transition for ``action``, or raise 409 naming the action and the state."""
    transition = ACTIONS[action]
    if VmState(vm_state) not in transition.allowed_from:
        raise InvalidStateError(
            f"Cannot '{action}' instance {instance_id} while it is in vm_state {vm_state}"
        )
    return transition


def check_supported(action: str, driver: DriverInfo) -> None:
    """Raise 400 when the active compute driver lacks the capability ``action`` needs (never pretend)."""
    needed = ACTIONS[action].requires
    if needed is not None and needed not in driver.capabilities:
        raise ValidationError(f"The {driver.name} compute driver cannot {action} instances: "
                              f"it does not support '{needed}'")
