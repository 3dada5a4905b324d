"""Wire models of the app template endpoints (endpoints.md section 3)."""

from __future__ import annotations

from msgspec import UNSET, Struct, UnsetType


class AppConfigItem(Struct):
    """One parameter of ``configuration``; ``default`` is sent only when the template has one."""

    name: str
    label: str
    description: str
    type: str
    required: bool
    default: str | UnsetType = UNSET


class AppTemplate(Struct):
    id: str
    display_name: str
    category: str
    description: str
    short_description: str
    usage: str
    developer: str
    website: str
    version: str
    os_name: str
    os_version: str  # a string, as Gcore sends it ("20.04"), though its OpenAPI says number
    image_name: str
    min_disk: int
    min_ram: int
    min_vcpus: int | None
    region_id: int | None
    app_config: list[AppConfigItem]


class AppTemplateList(Struct):
    count: int
    results: list[AppTemplate]
