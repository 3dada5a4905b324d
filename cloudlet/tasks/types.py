"""Task states and types. Values are stored in the database, so the type list is append-only."""

from __future__ import annotations

from enum import StrEnum


class TaskState(StrEnum):
    NEW = "NEW"
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    ERROR = "ERROR"


ACTIVE_STATES = (TaskState.NEW, TaskState.RUNNING)
TERMINAL_STATES = (TaskState.FINISHED, TaskState.ERROR)


class TaskType(StrEnum):
    CREATE_VM = "create_vm"
    DELETE_VM = "delete_vm"
    START_VM = "start_vm"
    STOP_VM = "stop_vm"
    SOFT_REBOOT_VM = "soft_reboot_vm"
    HARD_REBOOT_VM = "hard_reboot_vm"
    SUSPEND_VM = "suspend_vm"
    RESUME_VM = "resume_vm"
    RESIZE_VM = "resize_vm"
    ATTACH_VM_INTERFACE = "attach_vm_interface"
    DETACH_VM_INTERFACE = "detach_vm_interface"
    PUT_INTO_SERVER_GROUP = "put_into_server_group"
    REMOVE_FROM_SERVER_GROUP = "remove_from_server_group"
    CREATE_NETWORK = "create_network"
    DELETE_NETWORK = "delete_network"
    CREATE_SUBNET = "create_subnet"
    DELETE_SUBNET = "delete_subnet"
    CREATE_SECURITY_GROUP = "create_security_group"
    DELETE_SERVERGROUP = "delete_servergroup"
    CREATE_FIP = "create_fip"
    DELETE_FIP = "delete_fip"
    CREATE_RESERVED_FIXED_IP = "create_reserved_fixed_ip"
    DELETE_RESERVED_FIXED_IP = "delete_reserved_fixed_ip"
    CREATE_VOLUME = "create_volume"
    DELETE_VOLUME = "delete_volume"
    DELETE_PROJECT = "delete_project"
    UPDATE_NETWORK = "update_network"
    CREATE_SECURITY_GROUP_RULE = "create_security_group_rule"
    DELETE_SECURITY_GROUP_RULE = "delete_security_group_rule"
