"""Build the wire ``SecurityGroup`` from rows (rules in one query per page)."""

from __future__ import annotations

from typing import Any

from cloudlet.core.db import Conn
from cloudlet.core.scope import Scope
from cloudlet.networks.schemas import tags_out
from cloudlet.security_groups import repository
from cloudlet.security_groups.schemas import SecurityGroup, SecurityGroupRule


def rule_out(r: Any) -> SecurityGroupRule:
    return SecurityGroupRule(
        id=r.id, security_group_id=r.security_group_id, direction=r.direction, ethertype=r.ethertype or "IPv4",
        protocol=r.protocol, port_range_min=r.port_range_min, port_range_max=r.port_range_max,
        remote_ip_prefix=r.remote_ip_prefix, remote_group_id=r.remote_group_id, description=r.description,
        revision_number=0, created_at=r.created_at, updated_at=r.updated_at,
    )


async def render(conn: Conn, scope: Scope, rows: list[Any]) -> list[SecurityGroup]:
    rules = await repository.rules_of(conn, [r.id for r in rows])
    out = []
    for r in rows:
        tags = tags_out(r.tags)
        out.append(SecurityGroup(
            id=r.id, name=r.name, description=r.description or "", created_at=r.created_at,
            updated_at=r.updated_at, revision_number=r.revision_number or 0,
            security_group_rules=[rule_out(x) for x in rules[r.id]], tags_v2=tags, metadata=tags,
            project_id=r.project_id, region=scope.region_name, region_id=r.region_id,
        ))
    return out
