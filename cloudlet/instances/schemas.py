"""Wire models of the Instances API (the Gcore contract, endpoints.md sections 1-2).

Requests accept both SDKs' forms (Python ``name``/``tags``/``ssh_key_name``, Go ``names``/
``metadata``/``keypair_name``); responses carry the union of both (Python fields plus Go aliases).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType
from cloudlet.core.schemas import Tag, TaskIdList

NAME_PATTERN = r"^[a-zA-Z0-9][a-zA-Z 0-9._\-]{1,61}[a-zA-Z0-9._]$"
NAME_TEMPLATE_PATTERN = r"^[a-zA-Z0-9{][a-zA-Z 0-9._\-}{]{1,61}[a-zA-Z0-9._}]$"

InstanceName = Annotated[str, Meta(pattern=NAME_PATTERN, description="3-63 characters")]
NameTemplate = Annotated[str, Meta(pattern=NAME_TEMPLATE_PATTERN)]
VolumeType = Literal["cold", "ssd_hiiops", "ssd_local", "ssd_lowlatency", "standard", "ultra"]
IpFamily = Literal["dual", "ipv4", "ipv6"]
TagKey = Annotated[str, Meta(min_length=1, max_length=255)]
TagValue = Annotated[str, Meta(max_length=1024)]


# --- requests -----------------------------------------------------------------------------


class IdRef(Struct, forbid_unknown_fields=False):
    id: str


class FloatingIpRequest(Struct):
    source: Literal["new", "existing"]
    existing_floating_id: str | None = None


class InterfaceRequest(Struct):
    """One NIC of a new instance; ``type`` decides which other fields matter."""

    type: Literal["external", "subnet", "any_subnet", "reserved_fixed_ip"] = "external"
    network_id: str | None = None
    subnet_id: str | None = None
    port_id: str | None = None
    ip_address: str | None = None
    ip_family: IpFamily | None = None
    interface_name: Annotated[str, Meta(max_length=37)] | None = None
    security_groups: list[IdRef] | None = None
    floating_ip: FloatingIpRequest | None = None
    port_group: int | None = None


class VolumeRequest(Struct):
    """One disk of a new instance; ``source`` decides which other fields matter."""

    source: Literal["image", "new-volume", "snapshot", "apptemplate", "existing-volume"]
    image_id: str | None = None
    snapshot_id: str | None = None
    apptemplate_id: str | None = None
    volume_id: str | None = None
    size: Annotated[int, Meta(ge=1, le=16384)] | None = None
    name: Annotated[str, Meta(min_length=1, max_length=255)] | None = None
    type_name: VolumeType | None = None
    boot_index: int | None = None
    delete_on_termination: bool | None = None
    attachment_tag: Annotated[str, Meta(max_length=255)] | None = None
    tags: dict[TagKey, TagValue] | None = None
    metadata: dict[TagKey, TagValue] | None = None


class CreateInstanceRequest(Struct):
    flavor: Annotated[str, Meta(min_length=1, max_length=128)]
    interfaces: Annotated[list[InterfaceRequest], Meta(min_length=1, max_length=32)]
    volumes: Annotated[list[VolumeRequest], Meta(min_length=1, max_length=32)]
    name: InstanceName | None = None
    name_template: NameTemplate | None = None
    names: Annotated[list[InstanceName], Meta(min_length=1, max_length=10)] | None = None
    name_templates: Annotated[list[NameTemplate], Meta(min_length=1, max_length=10)] | None = None
    password: Annotated[str, Meta(max_length=255)] | None = None
    username: Annotated[str, Meta(pattern=r"^[a-z_][a-z0-9_-]{0,31}$")] | None = None
    user_data: Annotated[str, Meta(max_length=65536)] | None = None
    ssh_key_name: str | None = None
    keypair_name: str | None = None
    security_groups: list[IdRef] | None = None
    servergroup_id: str | None = None
    tags: dict[TagKey, TagValue] | None = None
    metadata: dict[TagKey, TagValue] | None = None
    allow_app_ports: bool | None = None
    configuration: dict[str, Any] | None = None


class UpdateInstanceRequest(Struct):
    name: InstanceName | None = None
    tags: dict[TagKey, TagValue | None] | None | UnsetType = UNSET


# --- responses ----------------------------------------------------------------------------


class Address(Struct):
    """A fixed or floating address; ``subnet_*`` only in a single-instance GET."""

    type: str
    addr: str
    interface_name: str | None | UnsetType = UNSET
    subnet_id: str | UnsetType = UNSET
    subnet_name: str | UnsetType = UNSET


class HardwareDescription(Struct):
    ram: str
    vcpus: str


class InstanceFlavor(Struct):
    flavor_id: str
    flavor_name: str
    vcpus: int
    ram: int
    architecture: str
    os_type: str
    hardware_description: HardwareDescription


class VolumeRef(Struct):
    id: str
    delete_on_termination: bool


class NameRef(Struct):
    name: str


class FixedIpAssignment(Struct):
    external: bool
    ip_address: str
    subnet_id: str


class InstanceIsolation(Struct):
    reason: str | None


class Instance(Struct):
    id: str
    name: str
    created_at: dt.datetime
    status: str
    vm_state: str
    task_state: str | None
    task_id: str | None
    creator_task_id: str | None
    flavor: InstanceFlavor
    volumes: list[VolumeRef]
    addresses: dict[str, list[Address]]
    security_groups: list[NameRef]
    ssh_key_name: str | None
    tags: list[Tag]
    instance_description: str | None
    blackhole_ports: list[Any]
    ddos_profile: Any
    fixed_ip_assignments: list[FixedIpAssignment]
    instance_isolation: InstanceIsolation | None
    project_id: int
    region: str
    region_id: int
    # Go SDK (legacy) aliases of the fields above
    instance_id: str
    instance_name: str
    instance_created: dt.datetime
    keypair_name: str | None
    flavor_id: str
    metadata: dict[str, str]
    metadata_detailed: list[Tag]


class InstanceList(Struct):
    count: int
    results: list[Instance]


def decode_error_fields(exc: msgspec.ValidationError) -> dict[str, list[str]]:
    """Turn msgspec's "... - at `$.a.b`" message into Gcore's invalid_fields."""
    text = str(exc)
    path = "body"
    if " - at `$" in text:
        text, _, raw = text.partition(" - at `$")
        path = raw.rstrip("`").lstrip(".") or "body"
    return {path: [text]}
