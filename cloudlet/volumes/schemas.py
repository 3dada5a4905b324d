"""Wire models of the Volumes API (supporting.md section 9; Python ``gcore.types.cloud.Volume``).

Responses carry the Python fields plus the Go SDK's ``metadata``/``metadata_detailed`` aliases of ``tags``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from msgspec import Meta, Struct
from cloudlet.core.schemas import Tag, TaskIdList

NAME_PATTERN = r"^[a-zA-Z0-9][a-zA-Z 0-9._\-]{1,61}[a-zA-Z0-9._]$"
VOLUME_TYPES = ("standard", "ssd_hiiops", "ssd_lowlatency", "ssd_local", "cold", "ultra")

VolumeName = Annotated[str, Meta(pattern=NAME_PATTERN, description="3-63 characters")]
VolumeType = Literal["cold", "ssd_hiiops", "ssd_local", "ssd_lowlatency", "standard", "ultra"]
TagKey = Annotated[str, Meta(min_length=1, max_length=255, pattern=r"^[^\s=]+$")]
TagValue = Annotated[str, Meta(min_length=1, max_length=255)]


# --- requests -----------------------------------------------------------------------------


class CreateVolumeRequest(Struct):
    """One variant per ``source``: ``image`` needs ``image_id``; ``new-volume`` and ``image`` need ``size``."""

    name: VolumeName
    source: Literal["image", "snapshot", "new-volume"] | None = None
    size: Annotated[int, Meta(ge=1, le=16384)] | None = None
    image_id: str | None = None
    snapshot_id: str | None = None
    type_name: VolumeType | None = None
    instance_id_to_attach_to: str | None = None
    attachment_tag: Annotated[str, Meta(pattern=r"^[^,/]{1,60}$")] | None = None
    lifecycle_policy_ids: list[int] | None = None
    tags: dict[TagKey, TagValue] | None = None
    metadata: dict[TagKey, TagValue] | None = None


# --- responses ----------------------------------------------------------------------------


class Attachment(Struct):
    attachment_id: str
    volume_id: str
    server_id: str | None
    instance_name: str | None
    device: str | None
    attached_at: dt.datetime | None
    flavor_id: str | None


class Volume(Struct):
    id: str
    name: str
    size: int
    status: str
    volume_type: str
    bootable: bool
    is_root_volume: bool
    attachments: list[Attachment]
    volume_image_metadata: dict[str, str] | None
    snapshot_ids: list[str]
    limiter_stats: None
    tags: list[Tag]
    task_id: str | None
    creator_task_id: str | None
    created_at: dt.datetime
    updated_at: dt.datetime | None
    project_id: int
    region: str
    region_id: int
    # Go SDK aliases of ``tags``
    metadata: dict[str, str]
    metadata_detailed: list[Tag]


class VolumeList(Struct):
    count: int
    results: list[Volume]


def _attachment_id(volume_id: str, instance_id: str) -> str:
    # Stable for one attachment, new for the next one.
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"cloudlet:attachment:{volume_id}:{instance_id}"))


def volume_out(row: Any, region_name: str) -> Volume:
    tags = [Tag(key=str(t["key"]), value=str(t["value"]), read_only=bool(t.get("read_only", False)))
            for t in row.tags or []]
    attachments = []
    if row.instance_id is not None:
        attachments.append(Attachment(
            attachment_id=_attachment_id(row.id, row.instance_id), volume_id=row.id, server_id=row.instance_id,
            instance_name=row.instance_name, device=row.device, attached_at=row.attached_at,
            flavor_id=row.instance_flavor_id,
        ))
    image_metadata = row.image_metadata
    return Volume(
        id=row.id, name=row.name, size=row.size, status=row.status, volume_type=row.volume_type,
        bootable=row.bootable, is_root_volume=row.boot_index == 0, attachments=attachments,
        volume_image_metadata={str(k): str(v) for k, v in image_metadata.items()} if image_metadata else None,
        snapshot_ids=[], limiter_stats=None, tags=tags, task_id=row.task_id, creator_task_id=row.creator_task_id,
        created_at=row.created_at, updated_at=row.updated_at, project_id=row.project_id, region=region_name,
        region_id=row.region_id, metadata={t.key: t.value for t in tags}, metadata_detailed=tags,
    )
