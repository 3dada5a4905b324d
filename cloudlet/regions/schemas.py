"""Wire models of the Regions API (supporting.md section 2; Python ``gcore.types.cloud.Region``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from msgspec import Struct

from cloudlet.volumes.schemas import VOLUME_TYPES

# Where a region of each country is drawn on Gcore's map (its capital); other countries get null.
_COORDINATES = {
    "LU": ("49.6116", "6.1319"), "DE": ("50.1109", "8.6821"), "NL": ("52.3676", "4.9041"),
    "GB": ("51.5072", "-0.1276"), "FR": ("48.8566", "2.3522"), "PL": ("52.2297", "21.0122"),
    "US": ("38.9072", "-77.0369"), "SG": ("1.3521", "103.8198"), "JP": ("35.6762", "139.6503"),
}


class Coordinates(Struct):
    latitude: str
    longitude: str


class Region(Struct):
    id: int
    display_name: str
    slug: str
    country: str
    zone: str | None
    state: str
    access_level: str
    endpoint_type: str
    keystone_id: int
    keystone_name: str
    vlan_physical_network: str
    external_network_id: str | None
    available_volume_types: list[str] | None
    file_share_types: list[str] | None
    coordinates: Coordinates | None
    created_at: dt.datetime
    created_on: dt.datetime
    # A cloudlet region runs plain virtual machines on KVM and nothing else Gcore sells.
    has_basic_vm: bool = True
    has_kvm: bool = True
    has_ai: bool = False
    has_ai_gpu: bool = False
    has_baremetal: bool = False
    has_dbaas: bool = False
    has_ddos: bool = False
    has_k8s: bool = False
    has_sfs: bool = False
    metrics_database_id: int | None = None
    ddos_endpoint_id: int | None = None
    ai_service_endpoint_id: int | None = None
    task_id: str | None = None


class RegionList(Struct):
    count: int
    results: list[Region]


def region_out(row: Any, *, show_volume_types: bool) -> Region:
    coords = _COORDINATES.get(row.country.upper())
    return Region(
        id=row.id, display_name=row.display_name, slug=row.slug, country=row.country, zone=row.zone,
        state=row.state, access_level="core", endpoint_type="public", keystone_id=row.id, keystone_name=row.slug,
        vlan_physical_network="br-ex", external_network_id=row.external_network_id,
        available_volume_types=list(VOLUME_TYPES) if show_volume_types else None, file_share_types=None,
        coordinates=Coordinates(latitude=coords[0], longitude=coords[1]) if coords else None,
        created_at=row.created_at, created_on=row.created_at,
    )
