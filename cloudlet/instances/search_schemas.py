"""Wire models of ``GET /v1/instances/search`` (endpoints.md 2.28): ids of projects and regions are
strings here, unlike everywhere else (spec fact 9)."""

from __future__ import annotations

from typing import Any

from msgspec import Struct


class InstanceLocation(Struct):
    id: str
    name: str
    client_id: int
    project_id: str
    project_name: str
    region_id: str
    region_name: str


class InstanceLocationList(Struct):
    count: int
    results: list[InstanceLocation]


def location_out(row: Any) -> InstanceLocation:
    return InstanceLocation(id=row.id, name=row.name, client_id=row.client_id, project_id=str(row.project_id),
                            project_name=row.project_name, region_id=str(row.region_id),
                            region_name=row.region_name)
