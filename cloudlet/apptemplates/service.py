"""App template decisions: the catalog, and what instance create does with a ``source: apptemplate`` volume.

A template volume is an image volume built from the template's image. At create cloudlet checks the
template's minimums against the flavor and ``configuration`` against its ``app_config``, hands the
effective configuration to the guest with the other boot secrets, and with ``allow_app_ports`` puts the
instance's ports in a ``<template id>-app-ports`` security group that opens the template's ports.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import yaml

from cloudlet.apptemplates import repository
from cloudlet.apptemplates.schemas import AppConfigItem, AppTemplate
from cloudlet.core.db import Conn
from cloudlet.core.errors import NotFoundError, ValidationError
from cloudlet.core.scope import Scope
from cloudlet.networks import repository as network_repository
from cloudlet.security_groups import repository as sg_repository

CATALOG = Path(__file__).with_name("catalog.yaml")
_cache: dict[str, Any] = {}
_cache_lock = threading.Lock()


def catalog() -> dict[str, dict[str, Any]]:
    """The templates by id, read from the catalog file (again whenever the file changes)."""
    stamp = CATALOG.stat().st_mtime_ns
    with _cache_lock:
        if _cache.get("stamp") != stamp:
            templates = yaml.safe_load(CATALOG.read_text())["templates"]
            _cache.update(stamp=stamp, templates={t["id"]: t for t in templates})
        return _cache["templates"]  # type: ignore[no-any-return]


def to_wire(template: dict[str, Any], region_id: int) -> AppTemplate:
    return AppTemplate(
        id=template["id"], display_name=template["display_name"], category=template["category"],
        description=template["description"], short_description=template["short_description"],
        usage=template["usage"], developer=template["developer"], website=template["website"],
        version=str(template["version"]), os_name=template["os_name"], os_version=str(template["os_version"]),
        image_name=template["image_name"], min_disk=template["min_disk"], min_ram=template["min_ram"],
        min_vcpus=template.get("min_vcpus"), region_id=region_id,
        app_config=[AppConfigItem(**item) for item in template.get("app_config", [])],
    )


def get_template(template_id: str) -> dict[str, Any]:
    template = catalog().get(template_id)
    if template is None:
        raise NotFoundError(f"App template {template_id} could not be found")
    return template


def list_templates() -> list[dict[str, Any]]:
    return list(catalog().values())


def check_configuration(template: dict[str, Any], configuration: dict[str, Any] | None) -> dict[str, str]:
    """The effective configuration (given values over defaults); 400 for unknown, missing or non-string values."""
    given = configuration or {}
    params = {item["name"]: item for item in template.get("app_config", [])}
    for key, value in given.items():
        if key not in params:
            takes = ", ".join(params) or "no parameters"
            raise ValidationError.for_field(f"configuration.{key}", f"App template {template['id']} has no parameter "
                                                                    f"{key!r}; it takes: {takes}")
        if not isinstance(value, str):
            raise ValidationError.for_field(f"configuration.{key}", "must be a string")
    effective = {name: item["default"] for name, item in params.items() if "default" in item}
    effective.update({k: v for k, v in given.items() if v != "" or k not in effective})
    for name, item in params.items():
        if item["required"] and not effective.get(name):
            raise ValidationError.for_field(f"configuration.{name}", f"App template {template['id']} needs "
                                                                     f"{name!r} ({item['label']})")
    return effective


async def plan_volume(conn: Conn, scope: Scope, *, apptemplate_id: str | None, size: int | None, flavor: Any,
                      configuration: dict[str, Any] | None, field: str) -> tuple[Any, int]:
    """Check a template volume of an instance create; returns the image to build it from and its size."""
    if not apptemplate_id:
        raise ValidationError.for_field(f"{field}.apptemplate_id", "apptemplate_id is required for source "
                                                                   "'apptemplate'")
    template = get_template(apptemplate_id)
    image = await repository.image_by_name(conn, scope, template["image_name"])
    if image is None:
        raise ValidationError.for_field(f"{field}.apptemplate_id", f"App template {apptemplate_id} is built from "
                                                                   f"image {template['image_name']}, which this "
                                                                   f"region does not have")
    min_disk = max(template["min_disk"], image.min_disk)
    size = size if size is not None else max(min_disk, flavor.disk)
    if size < min_disk:
        raise ValidationError.for_field(f"{field}.size", f"App template {apptemplate_id} needs a volume of at "
                                                         f"least {min_disk} GiB")
    min_ram = max(template["min_ram"], image.min_ram)
    if flavor.ram < min_ram:
        raise ValidationError.for_field("flavor", f"App template {apptemplate_id} needs at least {min_ram} MiB of "
                                                  f"RAM; flavor {flavor.id} has {flavor.ram}")
    min_vcpus = template.get("min_vcpus") or 0
    if flavor.vcpus < min_vcpus:
        raise ValidationError.for_field("flavor", f"App template {apptemplate_id} needs at least {min_vcpus} "
                                                  f"vCPUs; flavor {flavor.id} has {flavor.vcpus}")
    check_configuration(template, configuration)
    return image, size


def port_group_name(template: dict[str, Any]) -> str:
    return f"{template['id']}-app-ports"


async def _port_group(conn: Conn, scope: Scope, template: dict[str, Any]) -> str:
    """The project's ``<id>-app-ports`` group, created with the template's ports open if it is missing."""
    name = port_group_name(template)
    existing = await sg_repository.groups_by_names(conn, scope, [name])
    if existing:
        return existing[0].id  # type: ignore[no-any-return]
    rules = [
        {"direction": "ingress", "ethertype": ethertype, "protocol": p["protocol"], "port_range_min": p["port"],
         "port_range_max": p["port"], "description": f"{template['display_name']} ({p['protocol']}/{p['port']})"}
        for p in template.get("ports", []) for ethertype in ("IPv4", "IPv6")
    ]
    return await sg_repository.insert_group(
        conn, project_id=scope.project_id, region_id=scope.region_id, name=name,
        description=f"Opens the ports of the {template['display_name']} app template (allow_app_ports)",
        is_default=False, rules=rules,
    )


async def apply_to_instance(conn: Conn, scope: Scope, *, instance_id: str, volumes: list[Any],
                            configuration: dict[str, Any] | None, allow_app_ports: bool | None) -> None:
    """After a new instance's rows are written: hand it its app configuration and, if asked, open the app's ports."""
    template_ids = list(dict.fromkeys(v.apptemplate_id for v in volumes if v.source == "apptemplate"))
    if not template_ids:
        if configuration:
            raise ValidationError.for_field("configuration", "configuration is for app templates: add a volume "
                                                             "with source 'apptemplate'")
        return
    if len(template_ids) > 1:
        raise ValidationError.for_field("volumes", "An instance can be built from one app template only")
    template = get_template(template_ids[0])
    await repository.add_boot_secrets(conn, instance_id, {
        "app_template": template["id"], "app_configuration": check_configuration(template, configuration),
    })
    if not allow_app_ports or not template.get("ports"):
        return
    group_id = await _port_group(conn, scope, template)
    port_ids = [p.id for p in await network_repository.port_ids_of_instance(conn, instance_id)]
    groups = await sg_repository.groups_of_ports(conn, port_ids)
    for port_id in port_ids:
        if all(g.id != group_id for g in groups.get(port_id, [])):
            await sg_repository.attach_to_port(conn, port_id, [group_id])
