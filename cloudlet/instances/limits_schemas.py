"""Wire model of ``POST /v2/instances/{p}/{r}/check_limits`` (endpoints.md 2.25): the parts of a
create body that take quota. Other create fields are accepted and ignored."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct

VolumeSource = Literal["apptemplate", "existing-volume", "image", "new-volume", "snapshot"]
VolumeType = Literal["cold", "ssd_hiiops", "ssd_local", "ssd_lowlatency", "standard", "ultra"]


class LimitsFloatingIp(Struct):
    source: Literal["new", "existing"]
    existing_floating_id: str | None = None


class LimitsInterface(Struct):
    type: Literal["external", "subnet", "any_subnet", "reserved_fixed_ip"] = "external"
    network_id: str | None = None
    subnet_id: str | None = None
    port_id: str | None = None
    ip_address: str | None = None
    ip_family: Literal["dual", "ipv4", "ipv6"] | None = None
    interface_name: str | None = None
    port_group: int | None = None
    floating_ip: LimitsFloatingIp | None = None


class LimitsVolume(Struct):
    source: VolumeSource
    size: Annotated[int, Meta(ge=1, le=16384)] | None = None
    snapshot_id: str | None = None
    type_name: VolumeType | None = None
    image_id: str | None = None


class CheckLimitsRequest(Struct):
    """Every field is optional; ``names`` or ``name_templates`` give the number of instances (default 1)."""

    flavor: Annotated[str, Meta(min_length=1, max_length=128)] | None = None
    interfaces: Annotated[list[LimitsInterface], Meta(max_length=32)] = []
    volumes: Annotated[list[LimitsVolume], Meta(max_length=32)] = []
    names: Annotated[list[str], Meta(min_length=1, max_length=10)] | None = None
    name_templates: Annotated[list[str], Meta(min_length=1, max_length=10)] | None = None
