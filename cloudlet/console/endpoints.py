"""Console routes: ``get_console`` (the API), and what its URL opens: the page, its assets and the websocket.

The page and the websocket carry no API key: the signed token in their URL is the credential, good for
one page load and one websocket (a reload answers 410: ask for a new link).
"""

from __future__ import annotations

import asyncio
import html
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import structlog
from litestar import MediaType, Request, Response, WebSocket, get, websocket
from litestar.exceptions import WebSocketDisconnect
from litestar.static_files import create_static_files_router

from cloudlet.compute.base import ConsoleStream, DriverError, FramebufferStream
from cloudlet.console import service
from cloudlet.console.schemas import Console
from cloudlet.core.auth import PrincipalDep
from cloudlet.core.clock import utcnow
from cloudlet.core.errors import AuthenticationError, CloudletError, NotFoundError
from cloudlet.core.scope import resolve_scope
from cloudlet.runtime import Runtime, RuntimeDep

log = structlog.get_logger()

TAGS = ["instances"]
HERE = Path(__file__).parent
PAGE = (HERE / "page.html").read_text()
VNC_PAGE = (HERE / "vnc_page.html").read_text()  # noVNC, for drivers whose VNC console is a real framebuffer
MAX_INPUT = 4096  # characters per websocket message: typing and pasting, not uploads
# The page loads only its own scripts and styles (xterm.js adds inline styles) and talks only to its socket.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "font-src 'self'; connect-src 'self' ws: wss:; base-uri 'none'; frame-ancestors 'self'",
}


def _base_url(request: Request[Any, Any, Any], runtime: Runtime) -> str:
    if runtime.settings.console_base_url:
        return runtime.settings.console_base_url
    scheme = request.headers.get("x-forwarded-proto") or request.url.scheme
    host = request.headers.get("x-forwarded-host") or request.headers.get("host") or request.url.netloc
    return f"{scheme}://{host}"


@get("/v1/instances/{project_id:int}/{region_id:int}/{instance_id:str}/get_console", tags=TAGS,
     summary="Get a remote console URL",
     description="A URL of a web console for the instance, valid for a short time (CLOUDLET_CONSOLE_TOKEN_TTL, "
                 "600 s by default). console_type: novnc (default), spice, vnc or serial.")
async def get_console(project_id: int, region_id: int, instance_id: str, request: Request[Any, Any, Any],
                      principal: PrincipalDep, runtime: RuntimeDep, console_type: str | None = None) -> Console:
    async with runtime.db.read() as conn:
        scope = await resolve_scope(conn, principal, project_id, region_id)
        return await service.get_console(conn, scope, instance_id, console_type, driver=runtime.driver.info(),
                                         settings=runtime.settings, base_url=_base_url(request, runtime),
                                         now=utcnow())


def _page(status: int, title: str, name: str, kind: str, template: str = PAGE) -> Response[str]:
    body = template.replace("{{title}}", html.escape(title)).replace("{{name}}", html.escape(name)) \
        .replace("{{kind}}", html.escape(kind))
    return Response(content=body, status_code=status, media_type=MediaType.HTML, headers=PAGE_HEADERS)


def _error_page(status: int, message: str) -> Response[str]:
    body = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Console unavailable</title>"
            f"</head><body><h1>Console unavailable</h1><p>{html.escape(message)}</p></body></html>")
    return Response(content=body, status_code=status, media_type=MediaType.HTML, headers=PAGE_HEADERS)


def _page_token(token: str | None, path: str | None) -> str | None:
    """``?token=...``, or noVNC's ``?path=?token=...``."""
    if token:
        return token
    if path and "token=" in path:
        found = parse_qs(path.split("?", 1)[-1]).get("token")
        return found[0] if found else None
    return None


@get("/console/{page:str}", include_in_schema=False)
async def console_page(page: str, runtime: RuntimeDep, token: str | None = None,
                       path: str | None = None) -> Response[str]:
    if page not in service.PAGES:
        return _error_page(404, "There is no such console page.")
    try:
        async with runtime.db.transaction() as conn:
            grant, guest = await service.open_session(conn, runtime.settings, _page_token(token, path), use="page",
                                                      now=utcnow())
    except (AuthenticationError, NotFoundError, service.ConsoleLinkUsed) as exc:
        return _error_page(exc.status_code, exc.message)
    kind = f"{grant.console_type} console ({service.KINDS[grant.console_type].protocol})"
    framebuffer = service.shows_framebuffer(grant.console_type, runtime.driver.info())
    return _page(200, guest.name, guest.name, kind, VNC_PAGE if framebuffer else PAGE)


async def _relay(socket: WebSocket[Any, Any, Any], stream: ConsoleStream) -> None:
    """Copy the console to the browser and typing to the console until either side closes."""

    async def to_browser() -> None:
        while data := await stream.read():
            await socket.send_text(data)
        await socket.close(code=1000, reason="console closed")

    async def from_browser() -> None:
        while True:
            await stream.write((await socket.receive_text())[:MAX_INPUT])

    tasks = [asyncio.create_task(to_browser()), asyncio.create_task(from_browser())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if not isinstance(task.exception(), WebSocketDisconnect | None):
                log.warning("console.relay_failed", exc_info=task.exception())
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _relay_bytes(socket: WebSocket[Any, Any, Any], stream: FramebufferStream) -> None:
    """Copy RFB bytes both ways (noVNC speaks binary frames) until either side closes."""

    async def to_browser() -> None:
        while data := await stream.read():
            await socket.send_bytes(data)
        await socket.close(code=1000, reason="console closed")

    async def from_browser() -> None:
        while True:
            await stream.write(await socket.receive_bytes())

    tasks = [asyncio.create_task(to_browser()), asyncio.create_task(from_browser())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if not isinstance(task.exception(), WebSocketDisconnect | ConnectionError | None):
                log.warning("console.relay_failed", exc_info=task.exception())
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@websocket("/console/ws")
async def console_socket(socket: WebSocket[Any, Any, Any]) -> None:
    runtime: Runtime = socket.app.state.runtime
    # noVNC asks for the "binary" subprotocol; the terminal page asks for none
    await socket.accept(subprotocols="binary" if "binary" in socket.scope.get("subprotocols", ()) else None)
    try:
        async with runtime.db.transaction() as conn:
            grant, guest = await service.open_session(conn, runtime.settings, socket.query_params.get("token"),
                                                      use="socket", now=utcnow())
    except CloudletError as exc:
        # 4401/4404/4410: the HTTP status in the application range of close codes, so the page can say why
        await socket.send_text(f"\r\n[cloudlet] {exc.message}\r\n")
        await socket.close(code=4000 + exc.status_code, reason=exc.message[:120])
        return
    framebuffer = service.shows_framebuffer(grant.console_type, runtime.driver.info())
    try:
        if framebuffer:
            screen: FramebufferStream = await runtime.driver.open_framebuffer(guest)  # type: ignore[attr-defined]
        else:
            stream = await runtime.driver.open_console(guest, grant.console_type)
    except DriverError as exc:
        # 4409: the guest cannot show a console now (not running, or the hypervisor cannot hand it over)
        await socket.send_text(f"\r\n[cloudlet] {exc}\r\n")
        await socket.close(code=4409, reason=str(exc)[:120])
        return
    if framebuffer:
        try:
            await _relay_bytes(socket, screen)
        finally:
            await screen.close()
        return
    try:
        await _relay(socket, stream)
    finally:
        await stream.close()


static_assets = create_static_files_router(path="/console/static", directories=[HERE / "static"],
                                           name="console-static", include_in_schema=False)

routes = [get_console, console_page, console_socket, static_assets]
