"""Wire models of the Security groups API (supporting.md section 7)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from cloudlet.networks.schemas import ResourceName, Tag, TagMap

Protocol = Literal[
    "ah", "any", "dccp", "egp", "esp", "gre", "icmp", "igmp", "ipencap", "ipip", "ipv6-encap", "ipv6-frag",
    "ipv6-icmp", "ipv6-nonxt", "ipv6-opts", "ipv6-route", "ospf", "pgm", "rsvp", "sctp", "tcp", "udp", "udplite",
    "vrrp",
]
Port = Annotated[int, Meta(ge=0, le=65535)]


class RuleRequest(Struct):
    """One rule; Python requires ``direction``, Go leaves every field optional (checked by the service)."""

    direction: Literal["egress", "ingress"] | None = None
    ethertype: Literal["IPv4", "IPv6"] | None = None
    protocol: Protocol | None = None
    port_range_min: Port | None = None
    port_range_max: Port | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None
    description: Annotated[str, Meta(max_length=255)] | None = None


class CreateSecurityGroupRequest(Struct):
    """Python v2 body."""

    name: ResourceName
    description: Annotated[str, Meta(max_length=255)] | None = None
    rules: list[RuleRequest] | UnsetType = UNSET
    tags: TagMap | None = None


class SecurityGroupSpec(Struct):
    name: ResourceName
    description: Annotated[str, Meta(max_length=255)] | None = None
    security_group_rules: list[RuleRequest] | UnsetType = UNSET
    tags: TagMap | list[str] | None = None
    metadata: TagMap | None = None


class CreateSecurityGroupV1Request(Struct):
    """Go v1 body: the group, and instances to apply it to."""

    security_group: SecurityGroupSpec
    instances: list[str] | None = None


class SecurityGroupRule(Struct):
    id: str
    security_group_id: str
    direction: str
    ethertype: str
    protocol: str | None
    port_range_min: int | None
    port_range_max: int | None
    remote_ip_prefix: str | None
    remote_group_id: str | None
    description: str | None
    revision_number: int
    created_at: dt.datetime
    updated_at: dt.datetime


class SecurityGroup(Struct):
    id: str
    name: str
    description: str
    created_at: dt.datetime
    updated_at: dt.datetime
    revision_number: int
    security_group_rules: list[SecurityGroupRule]
    tags_v2: list[Tag]
    metadata: list[Tag]  # Go
    project_id: int
    region: str
    region_id: int


class SecurityGroupList(Struct):
    count: int
    results: list[SecurityGroup]
