"""Wire models of the Networks API (supporting.md section 5), plus the small shapes the other
network-side groups share (``Tag``, ``TaskIdList``, name and tag constraints)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType
from cloudlet.core.schemas import Tag, TaskIdList

NAME_PATTERN = r"^[a-zA-Z0-9][a-zA-Z 0-9._\-]{1,61}[a-zA-Z0-9._]$"
ResourceName = Annotated[str, Meta(pattern=NAME_PATTERN, description="3-63 characters")]
TagKey = Annotated[str, Meta(min_length=1, max_length=255)]
TagValue = Annotated[str, Meta(max_length=255)]
TagMap = dict[TagKey, TagValue]
TagPatch = dict[TagKey, TagValue | None]
NetworkType = Literal["vlan", "vxlan"]


def tags_out(stored: list[dict] | None) -> list[Tag]:
    return [Tag(key=t["key"], value=t["value"], read_only=bool(t.get("read_only"))) for t in stored or ()]


class CreateNetworkRequest(Struct):
    name: ResourceName
    create_router: bool = True
    type: NetworkType = "vxlan"
    tags: TagMap | None = None
    metadata: TagMap | None = None  # Go


class UpdateNetworkRequest(Struct):
    name: ResourceName | None = None
    tags: TagPatch | None | UnsetType = UNSET


class Network(Struct):
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
    subnets: list[str]
    tags: list[Tag]
    project_id: int | None
    region: str
    region_id: int
    metadata: list[Tag]  # Go


class NetworkList(Struct):
    count: int
    results: list[Network]
