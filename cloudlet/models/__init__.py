"""All tables, in one place for Alembic and for repositories."""

from cloudlet.models.base import metadata
from cloudlet.models.catalog import flavors, images
from cloudlet.models.compute import instance_tags, instances, servergroups, ssh_keys, volumes
from cloudlet.models.console import console_tokens
from cloudlet.models.naming import reseller_name_templates
from cloudlet.models.network import (
    floating_ips,
    ip_allocations,
    networks,
    port_security_groups,
    ports,
    security_group_rules,
    security_groups,
    subnets,
)
from cloudlet.models.task import faults, tasks
from cloudlet.models.tenancy import api_keys, clients, projects, regional_quotas, regions, resellers
from cloudlet.models.usage import host_allocations, instance_name_versions, instance_status_counts, project_usage

__all__ = [
    "api_keys", "clients", "console_tokens", "faults", "flavors", "floating_ips", "host_allocations", "images",
    "instance_name_versions", "instance_status_counts", "instance_tags", "instances", "ip_allocations", "metadata", "networks",
    "port_security_groups", "ports", "project_usage", "projects", "regional_quotas", "regions",
    "reseller_name_templates", "resellers", "security_group_rules", "security_groups", "servergroups", "ssh_keys",
    "subnets", "tasks", "volumes",
]
