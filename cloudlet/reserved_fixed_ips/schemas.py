"""Wire models of the Reserved fixed IPs API (supporting.md section 12).

A reserved fixed IP is a port with ``reserved`` set: it keeps its addresses while no instance
uses it, and survives the instances it is plugged into.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from msgspec import Struct

from cloudlet.networks.schemas import Network


class CreateReservedFixedIpRequest(Struct):
    type: Literal["external", "subnet", "any_subnet", "ip_address", "port"]
    subnet_id: str | None = None
    network_id: str | None = None
    ip_address: str | None = None
    ip_family: Literal["dual", "ipv4", "ipv6"] | None = None
    port_id: str | None = None
    is_vip: bool = False


class AddressPair(Struct):
    ip_address: str
    mac_address: str | None


class Attachment(Struct):
    resource_id: str | None
    resource_type: str | None


class Reservation(Struct):
    resource_id: str | None
    resource_type: str | None
    status: str | None


class ReservedFixedIp(Struct):
    port_id: str
    name: str
    status: str
    network_id: str
    network: Network
    is_external: bool
    is_vip: bool
    fixed_ip_address: str | None
    fixed_ipv6_address: str | None
    subnet_id: str | None
    subnet_v6_id: str | None
    reservation: Reservation
    attachments: list[Attachment]
    allowed_address_pairs: list[AddressPair]
    created_at: dt.datetime
    updated_at: dt.datetime
    creator_task_id: str | None
    task_id: str | None
    project_id: int | None
    region: str
    region_id: int


class ReservedFixedIpList(Struct):
    count: int
    results: list[ReservedFixedIp]
