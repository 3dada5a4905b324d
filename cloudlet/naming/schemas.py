"""Wire models of the reseller name templates API (endpoints.md section 7 and 2.27)."""

from __future__ import annotations

from typing import Annotated, Any

from msgspec import Meta, Struct

# Gcore's name_template pattern (behaviour.md 5.1); the instance create accepts the same.
NAME_TEMPLATE_PATTERN = r"^[a-zA-Z0-9{][a-zA-Z 0-9._\-}{]{1,61}[a-zA-Z0-9._}]$"

NameTemplate = Annotated[str, Meta(pattern=NAME_TEMPLATE_PATTERN)]
Templates = Annotated[list[NameTemplate], Meta(max_length=100)]

TEMPLATE_LISTS = ("allowed_name_templates", "allowed_name_win_templates", "allowed_bm_name_templates",
                  "allowed_bm_name_win_templates", "allowed_lb_name_templates")


class NameTemplatesUpdate(Struct):
    """The whole configuration of one reseller in one region: what is left out takes its default."""

    region_id: int
    reseller_id: int
    allow_custom_name: bool = False
    allowed_name_templates: Templates = []
    allowed_name_win_templates: Templates = []
    allowed_bm_name_templates: Templates = []
    allowed_bm_name_win_templates: Templates = []
    allowed_lb_name_templates: Templates = []
    allowed_lb_name_restriction: Annotated[str, Meta(max_length=255)] | None = None


class ResellerNameTemplates(Struct):
    allow_custom_name: bool
    allowed_bm_name_templates: list[str]
    allowed_bm_name_win_templates: list[str]
    allowed_lb_name_restriction: str
    allowed_lb_name_templates: list[str]
    allowed_name_templates: list[str]
    allowed_name_win_templates: list[str]
    region_id: int
    reseller_id: int
    reseller_name: str | None


class ResellerNameTemplatesList(Struct):
    count: int
    results: list[ResellerNameTemplates]


class AvailableNames(Struct):
    """The naming rules that apply to a project's instances in a region (nulls: nothing is restricted)."""

    custom_name_allowed: bool
    name_templates_limited: bool
    allowed_name_templates: list[str] | None
    allowed_name_win_templates: list[str] | None
    allowed_bm_name_templates: list[str] | None
    allowed_bm_name_win_templates: list[str] | None
    allowed_lb_name_templates: list[str] | None
    allowed_lb_name_restriction: str | None


class InstanceAvailableNames(Struct, omit_defaults=True):
    """The deprecated instances variant (Gcore's ``AvailableInstanceNamesSchema``): its lists are never null, so
    what is not restricted is left out."""

    custom_name_allowed: bool
    name_templates_limited: bool
    allowed_name_templates: list[str] | None = None
    allowed_name_win_templates: list[str] | None = None
    allowed_bm_name_templates: list[str] | None = None
    allowed_bm_name_win_templates: list[str] | None = None
    allowed_lb_name_templates: list[str] | None = None
    allowed_lb_name_restriction: str | None = None


def config_out(row: Any) -> ResellerNameTemplates:
    return ResellerNameTemplates(
        allow_custom_name=row.allow_custom_name,
        allowed_bm_name_templates=list(row.allowed_bm_name_templates),
        allowed_bm_name_win_templates=list(row.allowed_bm_name_win_templates),
        allowed_lb_name_restriction=row.allowed_lb_name_restriction or "",
        allowed_lb_name_templates=list(row.allowed_lb_name_templates),
        allowed_name_templates=list(row.allowed_name_templates),
        allowed_name_win_templates=list(row.allowed_name_win_templates),
        region_id=row.region_id,
        reseller_id=row.reseller_id,
        reseller_name=row.reseller_name,
    )


UNRESTRICTED = AvailableNames(
    custom_name_allowed=True, name_templates_limited=False, allowed_name_templates=None,
    allowed_name_win_templates=None, allowed_bm_name_templates=None, allowed_bm_name_win_templates=None,
    allowed_lb_name_templates=None, allowed_lb_name_restriction=None,
)


def available_out(row: Any | None) -> AvailableNames:
    if row is None:
        return UNRESTRICTED
    return AvailableNames(
        custom_name_allowed=row.allow_custom_name, name_templates_limited=True,
        allowed_name_templates=list(row.allowed_name_templates),
        allowed_name_win_templates=list(row.allowed_name_win_templates),
        allowed_bm_name_templates=list(row.allowed_bm_name_templates),
        allowed_bm_name_win_templates=list(row.allowed_bm_name_win_templates),
        allowed_lb_name_templates=list(row.allowed_lb_name_templates),
        allowed_lb_name_restriction=row.allowed_lb_name_restriction,
    )
