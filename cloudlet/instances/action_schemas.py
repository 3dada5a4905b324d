"""Wire models of the lifecycle endpoints: power actions, resize and available flavors
(endpoints.md 2.6-2.13, 4.1-4.2, S7)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from cloudlet.instances.schemas import VolumeRequest


class ActionRequest(Struct):
    """``action`` is checked by the service, so an unknown one answers Gcore's 400 "Wrong action"."""

    action: Annotated[str, Meta(description="start, stop, reboot, reboot_hard, suspend or resume "
                                            "(powercycle is accepted as reboot_hard)")]
    activate_profile: Annotated[bool | None, Meta(description="start only: activate the Advanced DDoS "
                                                              "profile (cloudlet has none; accepted)")] = None


class StartRequest(Struct):
    activate_profile: bool | None = None


class ChangeFlavorRequest(Struct):
    flavor_id: Annotated[str, Meta(min_length=1, max_length=128)]


class AvailableFlavorsRequest(Struct):
    """The volumes of a planned instance, in the flat (Go) create-volume form."""

    volumes: Annotated[list[VolumeRequest], Meta(min_length=1, max_length=32)]


class AvailableFlavor(Struct):
    """Python ``InstanceFlavorDetailed``: the price fields appear only with ``include_prices=true``."""

    architecture: str
    disabled: bool
    flavor_id: str
    flavor_name: str
    hardware_description: dict[str, str]
    os_type: str
    ram: int
    vcpus: int
    currency_code: str | None | UnsetType = UNSET
    price_per_hour: float | None | UnsetType = UNSET
    price_per_month: float | None | UnsetType = UNSET
    price_status: Literal["error", "hide", "show"] | None | UnsetType = UNSET


class AvailableFlavorList(Struct):
    count: int
    results: list[AvailableFlavor]


def available_flavor(row: Any, *, include_prices: bool) -> AvailableFlavor:
    item = AvailableFlavor(
        architecture=row.architecture, disabled=row.disabled, flavor_id=row.id, flavor_name=row.id,
        hardware_description={str(k): str(v) for k, v in (row.hardware_description or {}).items()},
        os_type=row.os_type, ram=row.ram, vcpus=row.vcpus,
    )
    if include_prices:
        item.currency_code = row.currency_code
        item.price_per_hour = row.price_per_hour
        item.price_per_month = row.price_per_month
        item.price_status = "show"
    return item


def available_flavor_list(rows: list[Any], *, include_prices: bool) -> AvailableFlavorList:
    return AvailableFlavorList(count=len(rows), results=[available_flavor(r, include_prices=include_prices)
                                                         for r in rows])
