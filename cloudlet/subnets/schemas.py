"""Wire models of the Subnets API (supporting.md section 6)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from msgspec import UNSET, Struct, UnsetType

from cloudlet.networks.schemas import ResourceName, Tag, TagMap, TagPatch


class Route(Struct):
    destination: str
    nexthop: str


class CreateSubnetRequest(Struct):
    cidr: str
    name: ResourceName
    network_id: str
    connect_to_network_router: bool | UnsetType = UNSET
    router_id_to_connect: str | None = None
    dns_nameservers: list[str] | None = None
    enable_dhcp: bool = True
    gateway_ip: str | None | UnsetType = UNSET  # omitted: the first host; null: advertise none
    host_routes: list[Route] | None = None
    ip_version: Literal[4, 6] | None = None
    tags: TagMap | None = None
    metadata: TagMap | None = None  # Go


class UpdateSubnetRequest(Struct):
    name: ResourceName | None = None
    enable_dhcp: bool | None = None
    dns_nameservers: list[str] | None | UnsetType = UNSET
    host_routes: list[Route] | None | UnsetType = UNSET
    gateway_ip: str | None | UnsetType = UNSET
    tags: TagPatch | None | UnsetType = UNSET


class Subnet(Struct):
    id: str
    name: str
    cidr: str
    ip_version: int
    network_id: str
    gateway_ip: str | None
    enable_dhcp: bool
    dns_nameservers: list[str]
    host_routes: list[Route]
    has_router: bool
    available_ips: int | None
    total_ips: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    creator_task_id: str | None
    task_id: str | None
    tags: list[Tag]
    project_id: int
    region: str
    region_id: int
    metadata: list[Tag]  # Go


class SubnetList(Struct):
    count: int
    results: list[Subnet]
