"""Compute drivers. ``load_driver`` picks one from settings."""

from __future__ import annotations

from cloudlet.compute.base import ComputeDriver
from cloudlet.compute.sim import SimulatedDriver


def load_driver(name: str, *, sim_profile: str, sim_hosts: int) -> ComputeDriver:
    if name in ("", "sim", "simulated"):
        return SimulatedDriver(profile=sim_profile, host_count=sim_hosts)
    raise ValueError(f"Unknown compute driver {name!r}; available: simulated")
