"""Wire models of the Placement (server) groups API (supporting.md section 8)."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct

Policy = Literal["affinity", "anti-affinity", "soft-anti-affinity"]


class CreateServerGroupRequest(Struct):
    name: Annotated[str, Meta(pattern=r"^[a-zA-Z0-9][a-zA-Z 0-9._\-]{1,108}[a-zA-Z0-9._]$")]
    policy: Policy


class Member(Struct):
    instance_id: str
    instance_name: str


class ServerGroup(Struct):
    servergroup_id: str
    name: str
    policy: str
    instances: list[Member]
    project_id: int
    region: str
    region_id: int


class ServerGroupList(Struct):
    count: int
    results: list[ServerGroup]
