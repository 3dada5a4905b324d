"""Wire models of the Images API (supporting.md section 4; Python ``gcore.types.cloud.instances.Image``).

``tags_v2`` is the Python SDK's key, ``tags`` the one the upstream serializer requires; both carry the
same list. Go reads ``metadata``/``metadata_detailed``. Price fields are always present (upstream
requires them) and null unless ``include_prices=true``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from msgspec import Struct
from cloudlet.core.schemas import Tag


class Image(Struct):
    id: str
    name: str
    description: str | None
    status: str
    visibility: str
    os_distro: str
    os_version: str
    os_type: str
    architecture: str
    min_disk: int
    min_ram: int
    size: int | None
    disk_format: str
    is_baremetal: bool
    ssh_key: str | None
    hw_firmware_type: str | None
    hw_machine_type: str | None
    display_order: int | None
    tags: list[Tag]
    tags_v2: list[Tag]
    metadata: dict[str, str]
    metadata_detailed: list[Tag]
    currency_code: str | None
    price_per_hour: float | None
    price_per_month: float | None
    price_status: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    project_id: int
    region: str
    region_id: int
    creator_task_id: str | None = None
    task_id: str | None = None
    gpu_driver: str | None = None
    gpu_driver_type: str | None = None
    gpu_driver_version: str | None = None


class ImageList(Struct):
    count: int
    results: list[Image]


def tags_of(row: Any) -> list[Tag]:
    """The image's tags; stored as a list of ``{key, value, read_only}`` (or a plain key -> value map)."""
    raw = row.tags or []
    if isinstance(raw, dict):
        return [Tag(key=str(k), value=str(v), read_only=False) for k, v in raw.items()]
    return [Tag(key=str(t["key"]), value=str(t["value"]), read_only=bool(t.get("read_only", False))) for t in raw]
