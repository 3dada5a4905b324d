"""Name templates: ``{ip_octets}`` (last three octets), ``{two_ip_octets}``, ``{one_ip_octet}``,
joined with ``-`` (behaviour.md 5.1: ``my-vm-{ip_octets}`` on 192.10.0.5 gives ``my-vm-10-0-5``)."""

from __future__ import annotations

import re

from cloudlet.core.errors import ValidationError

PLACEHOLDERS = {"ip_octets": 3, "two_ip_octets": 2, "one_ip_octet": 1}
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def check_template(template: str) -> None:
    """Reject placeholders cloudlet does not know, before anything is created."""
    for name in _PLACEHOLDER.findall(template):
        if name not in PLACEHOLDERS:
            raise ValidationError.for_field(
                "name_template", f"Unknown placeholder {{{name}}}; use one of "
                + ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            )


def render(template: str, ipv4: str | None) -> str:
    """Fill the placeholders from an IPv4 address."""
    check_template(template)
    if not _PLACEHOLDER.search(template):
        return template
    if ipv4 is None:
        raise ValidationError.for_field("name_template", "A name template needs an interface with an IPv4 address")
    octets = ipv4.split(".")
    return _PLACEHOLDER.sub(lambda m: "-".join(octets[-PLACEHOLDERS[m.group(1)]:]), template)
