"""Wire models of the Floating IPs API (supporting.md section 11, endpoints.md S12)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from msgspec import Struct

from cloudlet.networks.schemas import Tag, TagMap

Status = Literal["ACTIVE", "DOWN", "ERROR"]


class CreateFloatingIpRequest(Struct):
    port_id: str | None = None
    fixed_ip_address: str | None = None
    tags: TagMap | None = None
    metadata: TagMap | None = None  # Go


class AssignFloatingIpRequest(Struct):
    port_id: str
    fixed_ip_address: str | None = None


class FloatingIp(Struct):
    id: str
    floating_ip_address: str
    fixed_ip_address: str | None
    port_id: str | None
    router_id: str | None
    subnet_id: str
    status: str
    tags: list[Tag]
    metadata: list[Tag]  # Go
    created_at: dt.datetime
    updated_at: dt.datetime
    creator_task_id: str | None
    task_id: str | None
    project_id: int
    region: str
    region_id: int


class FlavorBrief(Struct):
    flavor_id: str
    flavor_name: str
    ram: int
    vcpus: int


class NameRef(Struct):
    name: str


class VolumeRef(Struct):
    id: str
    delete_on_termination: bool


class InstanceBrief(Struct):
    """The instance a floating IP NATs, as embedded in ``FloatingIPDetailed.instance``."""

    id: str
    name: str
    created_at: dt.datetime
    creator_task_id: str
    flavor: FlavorBrief
    instance_description: str | None
    addresses: dict[str, list[dict[str, Any]]]
    security_groups: list[NameRef]
    ssh_key_name: str | None
    status: str
    vm_state: str
    task_state: str | None
    task_id: str | None
    tags: list[Tag]
    volumes: list[VolumeRef]
    project_id: int
    region: str
    region_id: int


class FloatingIpDetailed(FloatingIp):
    instance: InstanceBrief | None = None
    loadbalancer: None = None


class FloatingIpList(Struct):
    count: int
    results: list[FloatingIpDetailed]
