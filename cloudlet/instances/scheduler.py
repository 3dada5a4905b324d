"""Placement: pick a host with room for the instance that its server group's policy allows."""

from __future__ import annotations

from cloudlet.compute.base import HostInfo, NoValidHost

POLICIES = ("affinity", "anti-affinity", "soft-anti-affinity")


def choose_host(
    hosts: list[HostInfo],
    usage: dict[str, tuple[int, int]],
    *,
    vcpus: int,
    ram: int,
    policy: str | None = None,
    group_hosts: set[str] | frozenset[str] = frozenset(),
) -> str:
    """The least loaded host that fits; raise ``NoValidHost`` when none may take the instance."""
    fitting = []
    for host in hosts:
        used_cpu, used_ram = usage.get(host.name, (0, 0))
        if used_cpu + vcpus <= host.vcpus and used_ram + ram <= host.ram:
            fitting.append((used_ram / host.ram, used_cpu / host.vcpus, host.name))
    if policy == "affinity" and group_hosts:
        fitting = [f for f in fitting if f[2] in group_hosts]
    elif policy == "anti-affinity":
        fitting = [f for f in fitting if f[2] not in group_hosts]
    elif policy == "soft-anti-affinity":
        preferred = [f for f in fitting if f[2] not in group_hosts]
        fitting = preferred or fitting
    if not fitting:
        reason = f" for server group policy {policy}" if policy else ""
        raise NoValidHost(f"No valid host was found{reason}. There are not enough hosts available.")
    return min(fitting)[2]
