"""Wire models of the instance network endpoints: interfaces (endpoints.md S11, S13), ports and
security groups of an instance, attach/detach, and placement group membership."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

from cloudlet.floating_ips.schemas import FloatingIp
from cloudlet.instances.schemas import IdRef
from cloudlet.networks.schemas import NAME_PATTERN, Tag
from cloudlet.subnets.schemas import Subnet

GroupName = Annotated[str, Meta(pattern=NAME_PATTERN)]


# --- requests -----------------------------------------------------------------------------


class AttachInterfaceRequest(Struct):
    """``type`` may be omitted in both SDKs; it then means ``external`` (endpoints.md fact 15)."""

    type: Literal["external", "subnet", "any_subnet", "reserved_fixed_ip"] = "external"
    network_id: str | None = None
    subnet_id: str | None = None
    port_id: str | None = None
    ip_family: Literal["dual", "ipv4", "ipv6"] | None = None
    interface_name: Annotated[str, Meta(max_length=37)] | None = None
    security_groups: list[IdRef] | None = None
    port_group: int | None = None  # Go: trunk grouping; every interface is its own port here
    ddos_profile: Any = None


class DetachInterfaceRequest(Struct):
    port_id: str
    ip_address: str


class PortSecurityGroupNames(Struct):
    port_id: str | None
    security_group_names: list[GroupName]


class SecurityGroupsChange(Struct):
    name: GroupName | None = None
    ports_security_group_names: list[PortSecurityGroupNames] | None = None


class PutIntoServerGroupRequest(Struct):
    servergroup_id: str


# --- responses ----------------------------------------------------------------------------


class IdName(Struct):
    id: str
    name: str


class IdNameList(Struct):
    count: int
    results: list[IdName]


class PortSecurityGroups(Struct):
    id: str
    name: str
    security_groups: list[IdName]


class PortSecurityGroupsList(Struct):
    count: int
    results: list[PortSecurityGroups]


class NetworkDetails(Struct):
    """A network with its subnets as full objects (the plain network GET gives subnet ids)."""

    id: str
    name: str
    created_at: dt.datetime
    updated_at: dt.datetime
    creator_task_id: str | None
    task_id: str | None
    default: bool | None
    external: bool
    shared: bool
    mtu: int
    port_security_enabled: bool
    segmentation_id: int | None
    type: str
    subnets: list[Subnet]
    tags: list[Tag]
    project_id: int | None
    region: str
    region_id: int


class IpAssignment(Struct):
    ip_address: str
    subnet_id: str


class InstanceInterface(Struct):
    port_id: str
    mac_address: str
    network_id: str
    port_security_enabled: bool
    interface_name: str | None
    ip_assignments: list[IpAssignment]
    network_details: NetworkDetails
    floatingip_details: list[FloatingIp]
    allowed_address_pairs: list[Any]
    # Gcore answers with its trunk serializer, whose sub_ports is required; cloudlet makes no trunks
    sub_ports: list[Any] = []


class InterfaceList(Struct):
    count: int
    results: list[InstanceInterface]
