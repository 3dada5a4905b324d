"""Naming decisions: a reseller restricts, per region, the names its clients' instances may take
(behaviour.md 5.2).

Once a reseller has a configuration for a region, its clients' instance names are limited there:
a template must be one of the allowed ones (the Windows list for a Windows image), and a custom name
is accepted only when ``allow_custom_name`` is set, or when it is itself one of the allowed strings.
Clients without a reseller, and regions without a configuration, are not restricted. The rules bind
the client's projects whoever makes the request, so ``available_names`` shows exactly what create does.
"""

from __future__ import annotations

import re
from typing import Any

from cloudlet.core.auth import Principal
from cloudlet.core.db import Conn
from cloudlet.core.errors import NotFoundError, ValidationError
from cloudlet.core.scope import Scope, get_region, require_role
from cloudlet.naming import repository
from cloudlet.naming.schemas import (
    TEMPLATE_LISTS,
    AvailableNames,
    NameTemplatesUpdate,
    available_out,
)

# The placeholders cloudlet renders at create (cloudlet.instances.naming); other lists accept any.
PLACEHOLDERS = ("ip_octets", "two_ip_octets", "one_ip_octet")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def _not_found(reseller_id: int) -> NotFoundError:
    return NotFoundError(f"Reseller {reseller_id} could not be found")


async def _reseller_for(conn: Conn, principal: Principal, reseller_id: int) -> int:
    """An admin may manage any reseller's rules, a reseller only its own; another one reads as missing."""
    require_role(principal, "admin", "reseller")
    if principal.role == "reseller" and principal.reseller_id != reseller_id:
        raise _not_found(reseller_id)
    if not await repository.reseller_exists(conn, reseller_id):
        raise _not_found(reseller_id)
    return reseller_id


def _check_templates(body: NameTemplatesUpdate) -> None:
    for field in TEMPLATE_LISTS:
        if field == "allowed_lb_name_templates":
            continue
        for n, template in enumerate(getattr(body, field)):
            unknown = [p for p in _PLACEHOLDER.findall(template) if p not in PLACEHOLDERS]
            if unknown:
                raise ValidationError.for_field(f"{field}.{n}", f"Unknown placeholder {{{unknown[0]}}}; use one of "
                                                + ", ".join("{" + p + "}" for p in PLACEHOLDERS))
    if body.allowed_lb_name_restriction:
        try:
            re.compile(body.allowed_lb_name_restriction)
        except re.error as exc:
            raise ValidationError.for_field("allowed_lb_name_restriction", f"Not a regular expression: {exc}") from None


async def put_config(conn: Conn, principal: Principal, body: NameTemplatesUpdate) -> Any:
    """Create or replace the configuration of (reseller, region); returns it with the reseller's name."""
    reseller_id = await _reseller_for(conn, principal, body.reseller_id)
    if await get_region(conn, body.region_id) is None:
        raise NotFoundError(f"Region {body.region_id} could not be found")
    _check_templates(body)
    values = {field: list(dict.fromkeys(getattr(body, field))) for field in TEMPLATE_LISTS}
    await repository.upsert(conn, reseller_id=reseller_id, region_id=body.region_id, values={
        **values, "allow_custom_name": body.allow_custom_name,
        "allowed_lb_name_restriction": body.allowed_lb_name_restriction or None,
    })
    return await repository.get(conn, reseller_id, body.region_id)


async def list_configs(conn: Conn, principal: Principal) -> list[Any]:
    require_role(principal, "admin", "reseller")
    return await repository.list_rows(conn, reseller_id=None if principal.is_admin else principal.reseller_id)


async def delete_config(conn: Conn, principal: Principal, reseller_id: int, region_id: int) -> None:
    await _reseller_for(conn, principal, reseller_id)
    if await repository.delete(conn, reseller_id, region_id) == 0:
        raise NotFoundError(f"Reseller {reseller_id} has no naming restrictions in region {region_id}")


async def available_names(conn: Conn, scope: Scope) -> AvailableNames:
    return available_out(await repository.for_client(conn, scope.client_id, scope.region_id))


def _field(names: list[str | None], templates: list[str | None]) -> str:
    plural = len(names) > 1
    if any(t is not None for t in templates):
        return "name_templates" if plural else "name_template"
    return "names" if plural else "name"


async def check_create_names(conn: Conn, scope: Scope, *, names: list[str | None], templates: list[str | None],
                             os_type: str) -> None:
    """400 ``ValidationError`` unless every planned instance's name or template is allowed for the client.

    ``names[i]``/``templates[i]`` describe instance ``i``: a custom name, a template, or neither (an
    automatic name, which counts as a custom one)."""
    config = await repository.for_client(conn, scope.client_id, scope.region_id)
    if config is None:
        return
    allowed = list(config.allowed_name_win_templates if os_type == "windows" else config.allowed_name_templates)
    refused: list[str] = []
    missing = False
    for name, template in zip(names, templates, strict=True):
        if template is not None:
            if template not in allowed:
                refused.append(template)
        elif config.allow_custom_name:
            continue
        elif name is None:
            missing = True
        elif name not in allowed:
            refused.append(name)
    field = _field(names, templates)
    if refused:
        message = (f"Following name templates are not allowed for this client: {list(dict.fromkeys(refused))!r}, "
                   f"use one of {allowed!r}")
        raise ValidationError(message, invalid_fields={field: [message]})
    if missing:
        message = f"A name template is required for this client: use one of {allowed!r}"
        raise ValidationError(message, invalid_fields={field: [message]})
