"""Security group decisions: the default group of every project, groups and rules of the API,
and resolving the groups an instance interface asks for."""

from __future__ import annotations

import ipaddress
from typing import Any

from msgspec import UNSET

from cloudlet.core.db import Conn
from cloudlet.core.errors import ConflictError, NotFoundError, ValidationError
from cloudlet.core.scope import Scope
from cloudlet.networks import tags
from cloudlet.security_groups import repository
from cloudlet.security_groups.schemas import (
    CreateSecurityGroupRequest,
    CreateSecurityGroupV1Request,
    RuleRequest,
)
from cloudlet.tasks.engine import insert_task
from cloudlet.tasks.types import TaskType

DEFAULT_GROUP_NAME = "default"


async def ensure_default_group(conn: Conn, *, project_id: int, region_id: int,
                               rules: list[dict[str, Any]] | None = None) -> str:
    """The id of the project's default group in the region, creating it (with Gcore's rules) if needed."""
    existing = await repository.get_default(conn, project_id, region_id)
    if existing is not None:
        return existing.id  # type: ignore[no-any-return]
    if rules is None:
        from cloudlet.seed import load_catalog

        rules = load_catalog()["default_security_group_rules"]
    return await repository.insert_group(
        conn, project_id=project_id, region_id=region_id, name=DEFAULT_GROUP_NAME,
        description="Default security group", is_default=True, rules=rules,
    )


async def resolve_ids(conn: Conn, scope: Scope, group_ids: list[str]) -> list[str]:
    """Check that every id is a group of the scope's project; keep the caller's order, drop repeats."""
    wanted = list(dict.fromkeys(group_ids))
    found = {row.id for row in await repository.get_many(conn, scope, wanted)}
    missing = [g for g in wanted if g not in found]
    if missing:
        raise NotFoundError(f"Security group {missing[0]} could not be found")
    return wanted


# --- the Security groups API ---------------------------------------------------------------


# What a new group gets when the request names no rules ("ingress + egress allow-all").
DEFAULT_TEMPLATE = [
    {"direction": d, "ethertype": e} for d in ("ingress", "egress") for e in ("IPv4", "IPv6")
]
PORT_PROTOCOLS = {"tcp", "udp", "sctp", "udplite", "dccp"}
ICMP_PROTOCOLS = {"icmp", "ipv6-icmp"}


async def get_group_row(conn: Conn, scope: Scope, group_id: str) -> Any:
    row = await repository.get_group(conn, scope, group_id)
    if row is None:
        raise NotFoundError(f"Security group {group_id} could not be found")
    return row


async def list_group_rows(conn: Conn, scope: Scope, *, name: str | None, tag_filter: tags.TagFilter) -> list[Any]:
    return [r for r in await repository.list_groups(conn, scope, name=name) if tag_filter.matches(r.tags)]


async def check_rule(conn: Conn, scope: Scope, rule: RuleRequest, field: str) -> dict[str, Any]:
    """Validate one rule; returns the row values."""
    if rule.direction is None:
        raise ValidationError.for_field(f"{field}.direction", "direction is required (ingress or egress)")
    protocol = None if rule.protocol in (None, "any") else rule.protocol
    ethertype: str | None = rule.ethertype
    low, high = rule.port_range_min, rule.port_range_max
    if low is not None or high is not None:
        if protocol in PORT_PROTOCOLS:
            if low is None or high is None or low > high:
                raise ValidationError.for_field(f"{field}.port_range_min", "port_range_min must be given and not "
                                                                           "exceed port_range_max")
        elif protocol in ICMP_PROTOCOLS:
            if (low is not None and low > 255) or (high is not None and high > 255):
                raise ValidationError.for_field(f"{field}.port_range_min", "ICMP type and code must be 0-255")
        else:
            raise ValidationError.for_field(f"{field}.protocol", "port ranges need protocol tcp, udp, sctp, "
                                                                 "udplite, dccp or icmp")
    prefix = None
    if rule.remote_ip_prefix is not None:
        try:
            net = ipaddress.ip_network(rule.remote_ip_prefix, strict=False)
        except ValueError:
            raise ValidationError.for_field(f"{field}.remote_ip_prefix",
                                            f"{rule.remote_ip_prefix!r} is not a CIDR") from None
        version = f"IPv{net.version}"
        if ethertype is not None and ethertype != version:
            raise ValidationError.for_field(f"{field}.remote_ip_prefix", f"{net} does not match ethertype "
                                                                         f"{ethertype}")
        ethertype, prefix = version, str(net)
    if rule.remote_group_id is not None:
        if prefix is not None:
            raise ValidationError.for_field(f"{field}.remote_group_id", "give remote_group_id or "
                                                                        "remote_ip_prefix, not both")
        if await repository.get_group(conn, scope, rule.remote_group_id) is None:
            raise NotFoundError(f"Security group {rule.remote_group_id} could not be found")
    return {"direction": rule.direction, "ethertype": ethertype or "IPv4", "protocol": protocol,
            "port_range_min": low, "port_range_max": high, "remote_ip_prefix": prefix,
            "remote_group_id": rule.remote_group_id, "description": rule.description}


async def _new_group(conn: Conn, scope: Scope, *, name: str, description: str | None, rules: list[RuleRequest] | None,
                     field: str, tag_list: list[dict[str, Any]]) -> str:
    checked = DEFAULT_TEMPLATE if rules is None else [
        await check_rule(conn, scope, r, f"{field}.{n}") for n, r in enumerate(rules)
    ]
    group_id = await repository.insert_group(conn, project_id=scope.project_id, region_id=scope.region_id, name=name,
                                             description=description, is_default=False, rules=[])
    await repository.insert_rules(conn, group_id, [
        {"ethertype": "IPv4", "protocol": None, "port_range_min": None, "port_range_max": None,
         "remote_ip_prefix": None, "remote_group_id": None, "description": None, **r} for r in checked
    ])
    if tag_list:
        await repository.update_group(conn, group_id, tags=tag_list)
    return group_id


async def create_group_task(conn: Conn, scope: Scope, body: CreateSecurityGroupRequest, *, request_id: str) -> str:
    """Python v2: the group is written now; its create_security_group task reports it."""
    rules = None if body.rules is UNSET else body.rules
    group_id = await _new_group(conn, scope, name=body.name, description=body.description, rules=rules,
                                field="rules", tag_list=tags.from_map(body.tags))
    return await insert_task(
        conn, task_type=TaskType.CREATE_SECURITY_GROUP, user_id=scope.principal.user_id, client_id=scope.client_id,
        project_id=scope.project_id, region_id=scope.region_id, resource_id=group_id, request_id=request_id,
        data={"security_group_id": group_id, "name": body.name},
    )


async def create_group_now(conn: Conn, scope: Scope, body: CreateSecurityGroupV1Request) -> str:
    """Go v1: synchronous; ``instances`` get the group on every port."""
    spec = body.security_group
    rules = None if spec.security_group_rules is UNSET else spec.security_group_rules
    instance_ids = list(dict.fromkeys(body.instances or []))
    found = await repository.existing_instances(conn, scope, instance_ids)
    missing = [i for i in instance_ids if i not in found]
    if missing:
        raise NotFoundError(f"Instance {missing[0]} could not be found")
    tag_map = {**(spec.metadata or {}), **(spec.tags if isinstance(spec.tags, dict) else {})}
    group_id = await _new_group(conn, scope, name=spec.name, description=spec.description, rules=rules,
                                field="security_group.security_group_rules", tag_list=tags.from_map(tag_map))
    for port_ids in (await repository.port_ids_of_instances(conn, scope, instance_ids)).values():
        for port_id in port_ids:
            await repository.attach_to_port(conn, port_id, [group_id])
    return group_id


async def delete_group(conn: Conn, scope: Scope, group_id: str) -> None:
    await get_group_row(conn, scope, group_id)
    in_use = await repository.ports_using(conn, group_id)
    if in_use:
        raise ConflictError(f"Security group {group_id} is in use by {in_use} port(s); remove it from the "
                            f"instances first")
    await repository.delete_group(conn, group_id)


async def add_rule(conn: Conn, scope: Scope, group_id: str, rule: RuleRequest) -> str:
    await get_group_row(conn, scope, group_id)
    values = await check_rule(conn, scope, rule, "body")
    (rule_id,) = await repository.insert_rules(conn, group_id, [values])
    await repository.update_group(conn, group_id, bump=True)
    return rule_id


async def add_rule_task(conn: Conn, scope: Scope, group_id: str, rule: RuleRequest, *, request_id: str) -> str:
    rule_id = await add_rule(conn, scope, group_id, rule)
    return await insert_task(
        conn, task_type=TaskType.CREATE_SECURITY_GROUP_RULE, user_id=scope.principal.user_id, client_id=scope.client_id,
        project_id=scope.project_id, region_id=scope.region_id, resource_id=rule_id, request_id=request_id,
        data={"security_group_id": group_id, "security_group_rule_id": rule_id},
    )


async def get_rule_row(conn: Conn, scope: Scope, rule_id: str, group_id: str | None = None) -> Any:
    row = await repository.get_rule(conn, scope, rule_id)
    if row is None or (group_id is not None and row.security_group_id != group_id):
        raise NotFoundError(f"Security group rule {rule_id} could not be found")
    return row


async def delete_rule(conn: Conn, scope: Scope, rule_id: str) -> None:
    row = await get_rule_row(conn, scope, rule_id)
    await repository.delete_rule(conn, rule_id)
    await repository.update_group(conn, row.security_group_id, bump=True)


async def delete_rule_task(conn: Conn, scope: Scope, group_id: str, rule_id: str, *, request_id: str) -> str:
    await get_group_row(conn, scope, group_id)
    await get_rule_row(conn, scope, rule_id, group_id)
    return await insert_task(
        conn, task_type=TaskType.DELETE_SECURITY_GROUP_RULE, user_id=scope.principal.user_id, client_id=scope.client_id,
        project_id=scope.project_id, region_id=scope.region_id, resource_id=rule_id, request_id=request_id,
        data={"security_group_id": group_id, "security_group_rule_id": rule_id},
    )
