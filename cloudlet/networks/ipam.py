"""IP address management: hand out addresses from a subnet's CIDR, never the same one twice.

The ``ip_allocations`` primary key (subnet, address) is the guarantee; allocation inserts with
ON CONFLICT DO NOTHING and tries another address when it loses a race. The network address,
the IPv4 broadcast address and the gateway are never handed out.
"""

from __future__ import annotations

import ipaddress
import random
from typing import Any

import sqlalchemy as sa

from cloudlet.core.db import Conn
from cloudlet.core.direct import prepared
from cloudlet.core.errors import ValidationError
from cloudlet.core.sql import insert_ignore
from cloudlet.models import ip_allocations

RANDOM_TRIES = 16
SCAN_LIMIT = 1 << 16


class SubnetFullError(ValidationError):
    """No free address is left in the subnet."""

    exception_class = "ValidationError"


def usable_bounds(cidr: str) -> tuple[int, int]:
    """First and last assignable address of a CIDR, as integers."""
    net = ipaddress.ip_network(cidr)
    first, last = int(net.network_address), int(net.broadcast_address)
    if net.num_addresses <= 2:
        return first, last
    if net.version == 4:
        return first + 1, last - 1
    return first + 1, last


def capacity(cidr: str, gateway_ip: str | None) -> int:
    first, last = usable_bounds(cidr)
    total = last - first + 1
    if gateway_ip and first <= int(ipaddress.ip_address(gateway_ip)) <= last:
        total -= 1
    return total


def check_address(cidr: str, gateway_ip: str | None, address: str) -> str:
    """Validate a requested address for the subnet; returns it normalised."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise ValidationError.for_field("ip_address", f"{address!r} is not an IP address") from None
    first, last = usable_bounds(cidr)
    if not first <= int(ip) <= last:
        raise ValidationError.for_field("ip_address", f"{ip} is not an assignable address of subnet {cidr}")
    if gateway_ip and ip == ipaddress.ip_address(gateway_ip):
        raise ValidationError.for_field("ip_address", f"{ip} is the gateway of subnet {cidr}")
    return str(ip)


async def allocate(conn: Conn, subnet: Any, *, port_id: str | None = None, floatingip_id: str | None = None,
                   address: str | None = None) -> str:
    """Allocate an address in ``subnet`` (a row with id, cidr, gateway_ip, ip_version) to a port or floating IP."""
    owner = {"port_id": port_id, "floatingip_id": floatingip_id}
    if address is not None:
        wanted = check_address(subnet.cidr, subnet.gateway_ip, address)
        if not await insert_ignore(conn, ip_allocations, {"subnet_id": subnet.id, "ip_address": wanted, **owner}):
            raise ValidationError.for_field("ip_address", f"IP address {wanted} is already in use")
        return wanted
    first, last = usable_bounds(subnet.cidr)
    gateway = int(ipaddress.ip_address(subnet.gateway_ip)) if subnet.gateway_ip else None
    make = ipaddress.IPv4Address if subnet.ip_version == 4 else ipaddress.IPv6Address
    rng = random.SystemRandom()
    for _ in range(RANDOM_TRIES):
        candidate = rng.randint(first, last)
        if candidate == gateway:
            continue
        text = str(make(candidate))
        if await insert_ignore(conn, ip_allocations, {"subnet_id": subnet.id, "ip_address": text, **owner}):
            return text
    used = set(
        (await conn.execute(sa.select(ip_allocations.c.ip_address).where(ip_allocations.c.subnet_id == subnet.id)))
        .scalars()
        .all()
    )
    for candidate in range(first, min(last, first + SCAN_LIMIT) + 1):
        text = str(make(candidate))
        if candidate == gateway or text in used:
            continue
        if await insert_ignore(conn, ip_allocations, {"subnet_id": subnet.id, "ip_address": text, **owner}):
            return text
    raise SubnetFullError(f"Subnet {subnet.id} ({subnet.cidr}) has no free IP address left")


async def release_port(conn: Conn, port_id: str) -> None:
    await conn.execute(ip_allocations.delete().where(ip_allocations.c.port_id == port_id))


async def used_counts(conn: Conn, subnet_ids: list[str]) -> dict[str, int]:
    """Addresses in use per subnet (ports and floating IPs alike)."""
    out = {s: 0 for s in subnet_ids}
    if subnet_ids:
        for subnet_id, count in await conn.execute(_USED_COUNTS, {"subnet_ids": subnet_ids}):
            out[subnet_id] = int(count)
    return out


async def pick_subnet(conn: Conn, subnets: list[Any], *, family: int, field: str,
                      prefer: set[str] | frozenset[str] = frozenset()) -> Any:
    """The subnet of ``family`` to take an address from: one in ``prefer`` that still has room
    (the instance already uses it), else the one with the most free addresses."""
    candidates = [s for s in subnets if s.ip_version == family]
    if not candidates:
        raise ValidationError.for_field(field, f"The network has no IPv{family} subnet")
    if len(candidates) == 1:
        return candidates[0]  # nothing to choose: allocating from it reports a full subnet
    used = await used_counts(conn, [s.id for s in candidates])
    free = {s.id: capacity(s.cidr, s.gateway_ip) - used[s.id] for s in candidates}
    preferred = [s for s in candidates if s.id in prefer and free[s.id] > 0]
    if preferred:
        return preferred[0]
    best = max(candidates, key=lambda s: free[s.id])
    if free[best.id] <= 0:
        raise SubnetFullError(f"Subnet {best.id} ({best.cidr}) has no free IP address left")
    return best


async def allocated_addresses(conn: Conn, subnet_id: str) -> set[str]:
    rows = await conn.execute(sa.select(ip_allocations.c.ip_address).where(ip_allocations.c.subnet_id == subnet_id))
    return {r.ip_address for r in rows}


# built once (see core/sql.py on hot-path statements)
_USED_COUNTS = prepared(sa.select(ip_allocations.c.subnet_id, sa.func.count())
                        .where(ip_allocations.c.subnet_id.in_(sa.bindparam("subnet_ids", expanding=True)))
                        .group_by(ip_allocations.c.subnet_id))
