"""Console decisions: which console types exist, when an instance has one, and who may open it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from urllib.parse import quote

from cloudlet.compute.base import Capability, DriverInfo, GuestView
from cloudlet.config import Settings
from cloudlet.console import repository, tokens
from cloudlet.console.schemas import Console, RemoteConsole
from cloudlet.console.tokens import ConsoleGrant
from cloudlet.core.db import Conn
from cloudlet.core.errors import AuthenticationError, CloudletError, ConflictError, ValidationError
from cloudlet.core.scope import Scope, resolve_scope
from cloudlet.guests import service as guests
from cloudlet.instances import service as instance_service


@dataclasses.dataclass(frozen=True, slots=True)
class ConsoleKind:
    protocol: str  # what get_console reports
    capability: str  # what the compute driver must offer
    page: str  # the console page's file name, as Nova's proxies name them


# novnc and spice for virtual machines, vnc and serial for bare metal (endpoints.md 2.23); a driver
# that offers the capability serves the type whatever the machine.
KINDS = {
    "novnc": ConsoleKind("vnc", Capability.VNC_CONSOLE, "vnc_auto.html"),
    "spice": ConsoleKind("spice", Capability.VNC_CONSOLE, "spice.html"),
    "vnc": ConsoleKind("vnc", Capability.VNC_CONSOLE, "vnc.html"),
    "serial": ConsoleKind("serial", Capability.SERIAL_CONSOLE, "serial.html"),
}
DEFAULT_TYPE = "novnc"
PAGES = {kind.page for kind in KINDS.values()}


class InstanceNotReady(ConflictError):
    """409, as Nova answers while the instance is still being built."""


class ConsoleLinkUsed(CloudletError):
    """410: a console URL opens its page once and its websocket once; a reload needs a new one."""

    status_code = 410


def console_url(base_url: str, console_type: str, token: str) -> str:
    """Nova's forms: noVNC takes the token inside its ``path`` parameter, the others as ``token``."""
    page = f"{base_url}/console/{KINDS[console_type].page}"
    if console_type == "novnc":
        return f"{page}?path={quote(f'?token={token}', safe='')}"
    return f"{page}?token={quote(token, safe='')}"


def shows_framebuffer(console_type: str, driver: DriverInfo) -> bool:
    """Whether the console is the guest's real screen (noVNC page, RFB bytes) rather than a text console."""
    return KINDS[console_type].capability == Capability.VNC_CONSOLE \
        and Capability.VNC_FRAMEBUFFER in driver.capabilities


def check_type(console_type: str | None, driver: DriverInfo) -> str:
    console_type = console_type or DEFAULT_TYPE
    kind = KINDS.get(console_type)
    if kind is None:
        raise ValidationError.for_field("console_type", f"Unavailable console type {console_type!r}; use one of "
                                                        f"{', '.join(KINDS)}")
    if kind.capability not in driver.capabilities:
        raise ValidationError.for_field("console_type", f"Unavailable console type {console_type!r}: the "
                                                        f"{driver.name} compute driver has no {kind.capability}")
    return console_type


async def get_console(conn: Conn, scope: Scope, instance_id: str, console_type: str | None, *, driver: DriverInfo,
                      settings: Settings, base_url: str, now: dt.datetime) -> Console:
    console_type = check_type(console_type, driver)
    row = await instance_service.get_instance_row(conn, scope, instance_id)
    if row.vm_state == "building":
        raise InstanceNotReady(f"Instance {instance_id} is not ready yet (it is being built): its console opens "
                               f"once it is ACTIVE")
    expires = int(now.replace(tzinfo=dt.UTC).timestamp()) + settings.console_token_ttl
    token = tokens.issue(settings, ConsoleGrant(scope.principal.key_id, row.id, scope.project_id, scope.region_id,
                                                console_type, expires))
    return Console(remote_console=RemoteConsole(protocol=KINDS[console_type].protocol, type=console_type,
                                                url=console_url(base_url, console_type, token)))


async def open_session(conn: Conn, settings: Settings, token: str | None, *, use: str,
                       now: dt.datetime) -> tuple[ConsoleGrant, GuestView]:
    """Check a console token (401 if bad or expired, or if its API key is gone), load its instance (404), and
    spend the token's one ``use`` ("page" or "socket"; 410 if it was spent before). Needs a transaction."""
    grant = tokens.verify(settings, token, now=now)
    principal = await repository.principal_of_key(conn, grant.key_id)
    if principal is None:
        raise AuthenticationError("The API key this console URL was issued to no longer exists")
    scope = await resolve_scope(conn, principal, grant.project_id, grant.region_id)
    guest = await guests.load(conn, scope, grant.instance_id)
    expires_at = dt.datetime.fromtimestamp(grant.expires_at, dt.UTC).replace(tzinfo=None)
    if not await repository.use_once(conn, f"{grant.nonce}:{use}", expires_at=expires_at, now=now):
        raise ConsoleLinkUsed("This console link was already used: ask for a new one (get_console)")
    return grant, guest
