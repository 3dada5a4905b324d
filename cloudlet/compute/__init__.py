"""Compute drivers. ``load_driver`` picks one from settings."""

from __future__ import annotations

from typing import Any

from cloudlet.compute.base import ComputeDriver
from cloudlet.compute.sim import SimulatedDriver

DRIVERS = ("simulated", "libvirt")


def load_driver(name: str, *, sim_profile: str = "fast", sim_hosts: int = 3, libvirt: Any = None) -> ComputeDriver:
    """The driver called ``name``; ``libvirt`` holds its ``LibvirtOptions``.

    A driver that cannot start raises ``DriverUnavailable`` with the reason: there is no fallback to the
    simulated driver, which would pretend guests exist.
    """
    if name in ("", "sim", "simulated"):
        return SimulatedDriver(profile=sim_profile, host_count=sim_hosts)
    if name == "libvirt":
        from cloudlet.compute.libvirt.driver import LibvirtDriver

        return LibvirtDriver(libvirt)
    raise ValueError(f"Unknown compute driver {name!r}; available: {', '.join(DRIVERS)}")
