"""Wire models of the flavors list (endpoints.md 2.26 and S7; Python ``InstanceFlavorDetailed``).

Price fields are left out entirely unless ``include_prices=true`` (the ``WithoutPrice`` variant).
"""

from __future__ import annotations

from typing import Any

from msgspec import UNSET, Struct, UnsetType


class Flavor(Struct):
    flavor_id: str
    flavor_name: str
    vcpus: int
    ram: int
    architecture: str
    os_type: str
    disabled: bool
    hardware_description: dict[str, str]
    currency_code: str | None | UnsetType = UNSET
    price_per_hour: float | None | UnsetType = UNSET
    price_per_month: float | None | UnsetType = UNSET
    price_status: str | None | UnsetType = UNSET


class FlavorList(Struct):
    count: int
    results: list[Flavor]


def flavor_out(row: Any, *, include_prices: bool) -> Flavor:
    flavor = Flavor(
        flavor_id=row.id, flavor_name=row.id, vcpus=row.vcpus, ram=row.ram, architecture=row.architecture,
        os_type=row.os_type, disabled=row.disabled,
        hardware_description={str(k): str(v) for k, v in (row.hardware_description or {}).items()},
    )
    if include_prices:
        flavor.currency_code = row.currency_code
        flavor.price_per_hour = row.price_per_hour
        flavor.price_per_month = row.price_per_month
        flavor.price_status = "show"
    return flavor
