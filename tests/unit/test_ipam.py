"""Property tests of IPAM on a real (SQLite, migrated) database: addresses are unique, never the
network, broadcast or gateway address, and released addresses can be handed out again."""

from __future__ import annotations

import asyncio
import ipaddress
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudlet.core.clock import utcnow
from cloudlet.core.db import Database
from cloudlet.core.migrate import upgrade
from cloudlet.models import ports, subnets
from cloudlet.networks import ipam
from cloudlet.seed import seed_if_empty
from tests.conftest import database_url

PUBLIC_NETWORK = "5d2e2e8c-2f1a-4c5b-8b1e-0e7c3a9f0001"


@pytest.fixture(scope="module")
def db_url() -> Iterator[str]:
    with database_url("sqlite") as url:
        asyncio.run(upgrade(url))

        async def seed() -> None:
            db = Database(url)
            async with db.transaction() as conn:
                await seed_if_empty(conn)
            await db.dispose()

        asyncio.run(seed())
        yield url


@st.composite
def subnet_specs(draw: Any) -> tuple[str, str | None]:
    """A small subnet (IPv4 /24-/30 or IPv6 /120-/126) and a gateway: none, the first host, or any host."""
    if draw(st.booleans()):
        prefix = draw(st.integers(24, 30))
        base = draw(st.integers(0, (1 << 32) - 1)) >> (32 - prefix) << (32 - prefix)
        net = ipaddress.IPv4Network((base, prefix))
    else:
        prefix = draw(st.integers(120, 126))
        base = draw(st.integers(0, (1 << 128) - 1)) >> (128 - prefix) << (128 - prefix)
        net = ipaddress.IPv6Network((base, prefix))
    first, last = ipam.usable_bounds(str(net))
    choice = draw(st.sampled_from(["none", "first", "any"]))
    gateway = None if choice == "none" else _address(str(net), first if choice == "first"
                                                     else draw(st.integers(first, last)))
    return str(net), gateway


def _address(cidr: str, number: int) -> str:
    """Address ``number`` in the family of ``cidr`` (``ip_address(int)`` alone picks IPv4 for small ints)."""
    net = ipaddress.ip_network(cidr)
    return str(ipaddress.IPv4Address(number) if net.version == 4 else ipaddress.IPv6Address(number))


async def _with_subnet(url: str, cidr: str, gateway: str | None, body: Any) -> Any:
    db = Database(url)
    net = ipaddress.ip_network(cidr)
    subnet = SimpleNamespace(id=str(uuid.uuid4()), cidr=cidr, gateway_ip=gateway, ip_version=net.version)
    now = utcnow()
    try:
        async with db.transaction() as conn:
            await conn.execute(subnets.insert().values(
                id=subnet.id, network_id=PUBLIC_NETWORK, project_id=None, region_id=1, name="prop", cidr=cidr,
                ip_version=net.version, gateway_ip=gateway, enable_dhcp=True, dns_nameservers=[], host_routes=[],
                tags=[], created_at=now, updated_at=now))
        return await body(db, subnet)
    finally:
        await db.dispose()


async def _new_port(conn: Any) -> str:
    port_id = str(uuid.uuid4())
    now = utcnow()
    await conn.execute(ports.insert().values(
        id=port_id, project_id=1, region_id=1, network_id=PUBLIC_NETWORK, instance_id=None, position=0,
        name="p", mac_address="fa:" + port_id[:14].replace("-", "")[:12], interface_name=None,
        port_security_enabled=True, reserved=False, created_at=now, updated_at=now))
    return port_id


def _forbidden(cidr: str, gateway: str | None) -> set[str]:
    net = ipaddress.ip_network(cidr)
    out = {str(net.network_address)}
    if net.version == 4:
        out.add(str(net.broadcast_address))
    if gateway:
        out.add(gateway)
    return out


PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@PROPERTY
@given(spec=subnet_specs(), data=st.data())
def test_addresses_are_unique_and_never_reserved(db_url: str, spec: tuple[str, str | None], data: Any) -> None:
    cidr, gateway = spec
    capacity = ipam.capacity(cidr, gateway)
    count = data.draw(st.integers(1, capacity))

    async def body(db: Database, subnet: Any) -> list[str]:
        async with db.transaction() as conn:
            return [await ipam.allocate(conn, subnet, port_id=await _new_port(conn)) for _ in range(count)]

    got = asyncio.run(_with_subnet(db_url, cidr, gateway, body))
    net = ipaddress.ip_network(cidr)
    assert len(set(got)) == count
    assert all(ipaddress.ip_address(a) in net for a in got)
    assert not set(got) & _forbidden(cidr, gateway)


@PROPERTY
@given(spec=subnet_specs())
def test_a_full_subnet_refuses_and_holds_exactly_its_capacity(db_url: str, spec: tuple[str, str | None]) -> None:
    cidr, gateway = spec

    async def body(db: Database, subnet: Any) -> tuple[set[str], bool, int]:
        async with db.transaction() as conn:
            got = {await ipam.allocate(conn, subnet, port_id=await _new_port(conn))
                   for _ in range(ipam.capacity(cidr, gateway))}
        refused = False
        try:
            async with db.transaction() as conn:
                await ipam.allocate(conn, subnet, port_id=await _new_port(conn))
        except ipam.SubnetFullError:
            refused = True
        async with db.read() as conn:
            used = (await ipam.used_counts(conn, [subnet.id]))[subnet.id]
        return got, refused, used

    got, refused, used = asyncio.run(_with_subnet(db_url, cidr, gateway, body))
    first, last = ipam.usable_bounds(cidr)
    usable = {_address(cidr, n) for n in range(first, last + 1)} - _forbidden(cidr, gateway)
    assert got == usable
    assert refused
    assert used == len(usable)


@PROPERTY
@given(spec=subnet_specs(), data=st.data())
def test_released_addresses_are_reused(db_url: str, spec: tuple[str, str | None], data: Any) -> None:
    cidr, gateway = spec
    capacity = ipam.capacity(cidr, gateway)
    freed_count = data.draw(st.integers(1, capacity))

    async def body(db: Database, subnet: Any) -> tuple[set[str], set[str], set[str]]:
        owners: dict[str, str] = {}
        async with db.transaction() as conn:
            for _ in range(capacity):
                port_id = await _new_port(conn)
                owners[port_id] = await ipam.allocate(conn, subnet, port_id=port_id)
        freed = dict(list(owners.items())[:freed_count])
        async with db.transaction() as conn:
            for port_id in freed:
                await ipam.release_port(conn, port_id)
        async with db.transaction() as conn:
            again = {await ipam.allocate(conn, subnet, port_id=await _new_port(conn)) for _ in range(freed_count)}
        return set(freed.values()), again, set(owners.values())

    freed, again, everything = asyncio.run(_with_subnet(db_url, cidr, gateway, body))
    assert again == freed
    assert len(everything) == capacity


@PROPERTY
@given(spec=subnet_specs(), data=st.data())
def test_a_requested_address_is_given_once(db_url: str, spec: tuple[str, str | None], data: Any) -> None:
    cidr, gateway = spec
    first, last = ipam.usable_bounds(cidr)
    wanted = _address(cidr, data.draw(st.integers(first, last)))

    async def body(db: Database, subnet: Any) -> list[str]:
        outcomes = []
        for _ in range(2):
            try:
                async with db.transaction() as conn:
                    outcomes.append(await ipam.allocate(conn, subnet, port_id=await _new_port(conn), address=wanted))
            except ipam.ValidationError:
                outcomes.append("refused")
        return outcomes

    outcomes = asyncio.run(_with_subnet(db_url, cidr, gateway, body))
    if wanted == gateway:
        assert outcomes == ["refused", "refused"]
    else:
        assert outcomes == [wanted, "refused"]
