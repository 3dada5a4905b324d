"""The instance state table against behaviour.md 2.1-2.3 (Nova's checks and _STATE_MAP), pair by pair."""

from __future__ import annotations

import itertools

import pytest

from cloudlet.compute.base import Capability, DriverInfo
from cloudlet.core.errors import InvalidStateError, ValidationError
from cloudlet.instances.states import (
    ACTIONS,
    POWER_ACTIONS,
    Status,
    VmState,
    check_allowed,
    check_supported,
    status_for,
)

ALL = {s.value for s in VmState}

# action: (allowed vm_states, task_state while running, final vm_state (None: where it started), task type)
EXPECTED = {
    "start": ({"stopped"}, "powering-on", "active", "start_vm"),
    "stop": ({"active", "error", "rescued"}, "powering-off", "stopped", "stop_vm"),
    "reboot": ({"active"}, "rebooting", "active", "soft_reboot_vm"),
    "reboot_hard": ({"active", "stopped", "paused", "suspended", "error"}, "rebooting_hard", "active",
                    "hard_reboot_vm"),
    "powercycle": ({"active", "stopped", "paused", "suspended", "error"}, "rebooting_hard", "active",
                   "hard_reboot_vm"),
    "suspend": ({"active"}, "suspending", "suspended", "suspend_vm"),
    "resume": ({"suspended"}, "resuming", "active", "resume_vm"),
    "resize": ({"active", "stopped"}, "resize_prep", None, "resize_vm"),
    "delete": (ALL - {"deleted"}, "deleting", "deleted", "delete_vm"),
    "attach_interface": ({"active", "paused", "stopped"}, None, None, "attach_vm_interface"),
    "detach_interface": ({"active", "paused", "stopped"}, None, None, "detach_vm_interface"),
    "put_into_servergroup": (ALL - {"deleted", "building"}, None, None, "put_into_server_group"),
    "remove_from_servergroup": (ALL - {"deleted", "building"}, None, None, "remove_from_server_group"),
}

# What a client sees while each power action and resize runs, from each state it may start in.
SHOWN_WHILE_RUNNING = {
    ("start", "stopped"): "SHUTOFF",
    ("stop", "active"): "ACTIVE",
    ("stop", "error"): "ERROR",
    ("stop", "rescued"): "RESCUE",
    ("reboot", "active"): "REBOOT",
    ("reboot_hard", "active"): "HARD_REBOOT",
    ("reboot_hard", "stopped"): "SHUTOFF",
    ("reboot_hard", "paused"): "PAUSED",
    ("reboot_hard", "suspended"): "SUSPENDED",
    ("reboot_hard", "error"): "ERROR",
    ("suspend", "active"): "ACTIVE",
    ("resume", "suspended"): "SUSPENDED",
    ("resize", "active"): "RESIZE",
    ("resize", "stopped"): "RESIZE",
}

PAIRS = list(itertools.product(sorted(EXPECTED), sorted(ALL)))


def test_the_table_has_exactly_the_expected_actions():
    assert set(ACTIONS) == set(EXPECTED)


@pytest.mark.parametrize("action, vm_state", PAIRS, ids=[f"{a}-{s}" for a, s in PAIRS])
def test_every_action_in_every_vm_state(action, vm_state):
    allowed, task_state, final, task_type = EXPECTED[action]
    if vm_state in allowed:
        transition = check_allowed(action, "vm-1", vm_state)
        assert transition.task_type == task_type
        assert transition.task_state == task_state
        assert transition.final_state(vm_state) == (final or vm_state)
    else:
        with pytest.raises(InvalidStateError) as err:
            check_allowed(action, "vm-1", vm_state)
        assert err.value.status_code == 409
        assert err.value.name == "ConflictError"
        assert f"'{action}'" in err.value.message and "vm-1" in err.value.message
        assert err.value.message.endswith(f"vm_state {vm_state}")


@pytest.mark.parametrize("action, vm_state", sorted(SHOWN_WHILE_RUNNING))
def test_status_while_an_action_runs(action, vm_state):
    transition = check_allowed(action, "vm-1", vm_state)
    assert status_for(vm_state, transition.task_state) == SHOWN_WHILE_RUNNING[(action, vm_state)]


def test_every_power_action_is_in_the_table():
    assert set(POWER_ACTIONS) <= set(ACTIONS)
    assert ACTIONS["powercycle"] is ACTIONS["reboot_hard"]


# Nova's _STATE_MAP (behaviour.md 2.1)
STATUS_MAP = [
    ("active", None, "ACTIVE"),
    ("active", "powering-off", "ACTIVE"),
    ("active", "suspending", "ACTIVE"),
    ("active", "deleting", "ACTIVE"),
    ("active", "rebooting", "REBOOT"),
    ("active", "reboot_pending", "REBOOT"),
    ("active", "reboot_started", "REBOOT"),
    ("active", "rebooting_hard", "HARD_REBOOT"),
    ("active", "reboot_pending_hard", "HARD_REBOOT"),
    ("active", "reboot_started_hard", "HARD_REBOOT"),
    ("active", "updating_password", "PASSWORD"),
    ("active", "rebuilding", "REBUILD"),
    ("active", "rebuild_block_device_mapping", "REBUILD"),
    ("active", "rebuild_spawning", "REBUILD"),
    ("active", "migrating", "MIGRATING"),
    ("active", "resize_prep", "RESIZE"),
    ("active", "resize_migrating", "RESIZE"),
    ("active", "resize_migrated", "RESIZE"),
    ("active", "resize_finish", "RESIZE"),
    ("building", None, "BUILD"),
    ("building", "spawning", "BUILD"),
    ("stopped", None, "SHUTOFF"),
    ("stopped", "powering-on", "SHUTOFF"),
    ("stopped", "resize_prep", "RESIZE"),
    ("stopped", "resize_finish", "RESIZE"),
    ("stopped", "rebuilding", "REBUILD"),
    ("stopped", "rebooting_hard", "SHUTOFF"),
    ("resized", None, "VERIFY_RESIZE"),
    ("resized", "resize_reverting", "REVERT_RESIZE"),
    ("paused", None, "PAUSED"),
    ("paused", "migrating", "MIGRATING"),
    ("suspended", None, "SUSPENDED"),
    ("suspended", "resuming", "SUSPENDED"),
    ("rescued", None, "RESCUE"),
    ("error", None, "ERROR"),
    ("error", "rebuilding", "REBUILD"),
    ("error", "powering-off", "ERROR"),
    ("deleted", None, "DELETED"),
    ("soft-deleted", None, "SOFT_DELETED"),
    ("shelved", None, "SHELVED"),
    ("shelved_offloaded", None, "SHELVED_OFFLOADED"),
    ("no-such-state", None, "UNKNOWN"),
]


@pytest.mark.parametrize("vm_state, task_state, status", STATUS_MAP)
def test_status_for(vm_state, task_state, status):
    assert status_for(vm_state, task_state) == status
    assert status in Status.__members__


def _driver(*capabilities: str) -> DriverInfo:
    return DriverInfo(name="tiny", version="1", capabilities=frozenset(capabilities))


@pytest.mark.parametrize("action, needed", [("suspend", Capability.SUSPEND), ("resume", Capability.SUSPEND),
                                            ("resize", Capability.RESIZE)])
def test_an_action_the_driver_cannot_do_is_400(action, needed):
    check_supported(action, _driver(needed))
    with pytest.raises(ValidationError) as err:
        check_supported(action, _driver())
    assert err.value.status_code == 400
    assert "tiny" in err.value.message and needed in err.value.message


@pytest.mark.parametrize("action", ["start", "stop", "reboot", "reboot_hard", "powercycle", "delete"])
def test_actions_any_driver_can_do(action):
    check_supported(action, _driver())
