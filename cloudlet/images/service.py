"""Image reads, with the invented prices cloudlet shows when asked (``include_prices=true``)."""

from __future__ import annotations

import json
from typing import Any

from cloudlet.core.db import Conn
from cloudlet.core.errors import NotFoundError, ValidationError
from cloudlet.core.pagination import split_multi
from cloudlet.core.scope import Scope
from cloudlet.images import repository
from cloudlet.images.repository import ImageFilters
from cloudlet.images.schemas import Image, tags_of

# Linux images are free; a Windows Server licence costs per hour of use (monthly = 730 hours).
WINDOWS_PRICE_PER_HOUR = 0.0411
CURRENCY = "EUR"


def tag_filters(tag_key: list[str] | None, tag_key_value: str | None, metadata_k: str | None = None,
                metadata_kv: str | None = None) -> tuple[list[str], dict[str, str]]:
    """Tag filters of a list query: Python's ``tag_key`` (repeated or comma-separated) and
    ``tag_key_value`` (a JSON object, or ``key=value``), Go's ``metadata_k`` (JSON array) and
    ``metadata_kv`` (JSON object). Returns the wanted keys and the wanted key/value pairs."""
    keys = split_multi(tag_key)
    if metadata_k is not None:
        keys += [str(k) for k in _json_or_plain(metadata_k, "metadata_k", list)]
    pairs: dict[str, str] = {}
    for name, value in (("metadata_kv", metadata_kv), ("tag_key_value", tag_key_value)):
        if value is not None:
            pairs.update(_key_values(value, name))
    return list(dict.fromkeys(keys)), pairs


def _json_or_plain(value: str, name: str, kind: type) -> Any:
    text = value.strip()
    if not text.startswith(("[", "{")):
        return split_multi([text]) if kind is list else None
    try:
        parsed = json.loads(text)
    except ValueError:
        raise ValidationError.for_field(name, "must be JSON") from None
    if not isinstance(parsed, kind):
        raise ValidationError.for_field(name, f"must be a JSON {'object' if kind is dict else 'array'}")
    return parsed


def _key_values(value: str, name: str) -> dict[str, str]:
    parsed = _json_or_plain(value, name, dict)
    if parsed is not None:
        return {str(k): str(v) for k, v in parsed.items()}
    key, sep, val = value.partition("=")
    if not sep or not key:
        raise ValidationError.for_field(name, 'use a JSON object such as {"key": "value"}, or key=value')
    return {key: val}


def image_out(row: Any, scope: Scope, *, include_prices: bool) -> Image:
    tags = tags_of(row)
    hourly = WINDOWS_PRICE_PER_HOUR if row.os_type == "windows" else 0.0
    return Image(
        id=row.id, name=row.name, description=row.description, status=row.status, visibility=row.visibility,
        os_distro=row.os_distro, os_version=row.os_version, os_type=row.os_type, architecture=row.architecture,
        min_disk=row.min_disk, min_ram=row.min_ram, size=row.size, disk_format=row.disk_format, is_baremetal=False,
        ssh_key=row.ssh_key, hw_firmware_type=row.hw_firmware_type, hw_machine_type=None,
        display_order=row.display_order, tags=tags, tags_v2=tags, metadata={t.key: t.value for t in tags},
        metadata_detailed=tags,
        currency_code=CURRENCY if include_prices else None,
        price_per_hour=hourly if include_prices else None,
        price_per_month=round(hourly * 730, 2) if include_prices else None,
        price_status="show" if include_prices else None,
        created_at=row.created_at, updated_at=row.updated_at,
        project_id=row.project_id if row.project_id is not None else scope.project_id,
        region=scope.region_name, region_id=row.region_id,
    )


async def list_images(conn: Conn, scope: Scope, filters: ImageFilters, *, include_prices: bool, limit: int,
                      offset: int) -> tuple[list[Image], int]:
    rows, total = await repository.list_rows(conn, scope, filters, limit=limit, offset=offset)
    return [image_out(r, scope, include_prices=include_prices) for r in rows], total


async def get_image(conn: Conn, scope: Scope, image_id: str, *, include_prices: bool) -> Image:
    row = await repository.get(conn, scope, image_id)
    if row is None:
        raise NotFoundError(f"Image {image_id} could not be found")
    return image_out(row, scope, include_prices=include_prices)
