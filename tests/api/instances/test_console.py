"""GET .../get_console (endpoints.md 2.23, behaviour.md 7), the console page it links to, and the websocket
that carries the simulated guest's serial console."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from gcore.types.cloud import Console

from cloudlet.compute.base import GuestDisk, GuestNic, GuestView, PowerSpan
from cloudlet.compute.sim_console import SimConsole, hostname_of
from cloudlet.console import tokens
from cloudlet.core.clock import utcnow
from tests.api.instances import test_metadata, test_metrics
from tests.api.instances.test_metadata import new_instance
from tests.upstream_schema import check

project_id = test_metadata.project_id  # a fresh project, its instances deleted afterwards
sdk = test_metrics.sdk


def url(project_id: int, instance_id: str) -> str:
    return f"/cloud/v1/instances/{project_id}/1/{instance_id}/get_console"


async def console_url(client: httpx.AsyncClient, project_id: int, instance_id: str, **params: Any) -> str:
    r = await client.get(url(project_id, instance_id), params=params)
    assert r.status_code == 200, r.text
    return str(r.json()["remote_console"]["url"])


def token_of(console: str) -> str:
    query = parse_qs(urlsplit(console).query)
    if "path" in query:
        query = parse_qs(query["path"][0].lstrip("?"))
    return query["token"][0]


async def set_vm_state(runtime: Any, instance_id: str, vm_state: str) -> None:
    from cloudlet.models import instances

    async with runtime.db.transaction() as conn:
        await conn.execute(sa.update(instances).where(instances.c.id == instance_id).values(vm_state=vm_state))


class WebSocketSession:
    """A websocket client speaking ASGI straight to the in-process app."""

    def __init__(self, app: Any, path: str) -> None:
        target = urlsplit(path)
        self.scope = {
            "type": "websocket", "asgi": {"version": "3.0"}, "scheme": "ws", "http_version": "1.1",
            "path": target.path, "raw_path": target.path.encode(), "query_string": target.query.encode(),
            "root_path": "", "headers": [(b"host", b"cloudlet.test")], "client": ("127.0.0.1", 50000),
            "server": ("cloudlet.test", 80), "subprotocols": [], "state": {},
        }
        self.app = app
        self.to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.closed: dict[str, Any] | None = None
        self.screen = ""

    async def __aenter__(self) -> Self:
        self.task = asyncio.create_task(self.app(self.scope, self.to_app.get, self.from_app.put))
        await self.to_app.put({"type": "websocket.connect"})
        accepted = await asyncio.wait_for(self.from_app.get(), 10)
        assert accepted["type"] == "websocket.accept", accepted
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.closed is None:
            await self.to_app.put({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait_for(self.task, 10)

    async def type(self, text: str) -> None:
        await self.to_app.put({"type": "websocket.receive", "text": text})

    async def read_until(self, pattern: str, timeout: float = 10) -> str:
        """Collect output until ``pattern`` (a regex) shows up in what arrived since the last call."""
        start = len(self.screen)
        async with asyncio.timeout(timeout):
            while not re.search(pattern, self.screen[start:]):
                message = await self.from_app.get()
                if message["type"] == "websocket.close":
                    self.closed = message
                    break
                self.screen += message.get("text") or ""
        return self.screen[start:]


class TestGetConsole:
    async def test_default_is_novnc_with_a_nova_style_url(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        r = await client.get(url(project_id, instance_id))
        assert r.status_code == 200, r.text
        body = r.json()
        check("RemoteConsoleSerializer", body)
        Console.model_validate(body)
        console = body["remote_console"]
        assert console["type"] == "novnc" and console["protocol"] == "vnc"
        assert console["url"].startswith("http://cloudlet.test/console/vnc_auto.html?path=%3Ftoken%3D")

    @pytest.mark.parametrize("console_type, protocol, page",
                             [("serial", "serial", "serial.html"), ("spice", "spice", "spice.html"),
                              ("vnc", "vnc", "vnc.html"), ("novnc", "vnc", "vnc_auto.html")])
    async def test_every_console_type(self, client, project_id, console_type, protocol, page):
        instance_id = await new_instance(client, project_id)
        r = await client.get(url(project_id, instance_id), params={"console_type": console_type})
        assert r.status_code == 200, r.text
        console = r.json()["remote_console"]
        assert (console["type"], console["protocol"]) == (console_type, protocol)
        assert urlsplit(console["url"]).path == f"/console/{page}"
        assert token_of(console["url"])

    async def test_python_sdk_strict(self, sdk, client, project_id):
        instance_id = await new_instance(client, project_id)
        console = await sdk.cloud.instances.get_console(instance_id, project_id=project_id, region_id=1,
                                                        console_type="serial")
        assert console.remote_console.protocol == "serial"

    async def test_unknown_console_type_is_400(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        r = await client.get(url(project_id, instance_id), params={"console_type": "rdp"})
        assert r.status_code == 400
        assert "console_type" in r.json()["invalid_fields"]

    async def test_building_instance_is_409(self, client, project_id, runtime):
        instance_id = await new_instance(client, project_id)
        await set_vm_state(runtime, instance_id, "building")
        try:
            r = await client.get(url(project_id, instance_id))
            assert r.status_code == 409
            assert r.json()["exception_class"] == "InstanceNotReady"
        finally:
            await set_vm_state(runtime, instance_id, "active")

    async def test_unknown_instance_is_404(self, client, project_id):
        r = await client.get(url(project_id, "00000000-0000-0000-0000-000000000000"))
        assert r.status_code == 404

    async def test_instance_of_another_project_is_404(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        other = (await client.post("/cloud/v1/projects", json={"name": "other-console"})).json()
        assert (await client.get(url(other["id"], instance_id))).status_code == 404

    async def test_base_url_follows_the_request(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        r = await client.get(url(project_id, instance_id),
                             headers={"x-forwarded-proto": "https", "x-forwarded-host": "cloud.example.org"})
        assert r.json()["remote_console"]["url"].startswith("https://cloud.example.org/console/")


class TestConsolePage:
    async def test_page_shows_the_instance_and_loads_only_packaged_assets(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        for console_type in ("novnc", "serial"):
            target = await console_url(client, project_id, instance_id, console_type=console_type)
            r = await client.get(target, headers={"Authorization": ""})
            assert r.status_code == 200, r.text
            assert r.headers["content-type"].startswith("text/html")
            assert "script-src 'self'" in r.headers["content-security-policy"]
            assert r.headers["referrer-policy"] == "no-referrer"
            assert "<title>web-1 - cloudlet console</title>" in r.text
            scripts = re.findall(r'src="([^"]+)"', r.text)
            assert scripts == ["static/xterm.js", "static/addon-fit.js", "static/console.js"]
            for asset in [*scripts, "static/xterm.css", "static/console.css"]:
                a = await client.get(f"/console/{asset}", headers={"Authorization": ""})
                assert a.status_code == 200 and len(a.content) > 100, asset

    async def test_bad_or_foreign_token_is_401(self, client, project_id, runtime):
        instance_id = await new_instance(client, project_id)
        good = token_of(await console_url(client, project_id, instance_id, console_type="serial"))
        forged = tokens.issue(Settingsless(runtime.settings, "another-key"),
                              tokens.verify(runtime.settings, good, now=utcnow()))
        tampered = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
        for token in ("", "nonsense", tampered, forged):
            r = await client.get("/console/serial.html", params={"token": token})
            assert r.status_code == 401, token
            assert "Console unavailable" in r.text

    async def test_expired_token_is_401(self, client, project_id, runtime):
        instance_id = await new_instance(client, project_id)
        grant = tokens.verify(runtime.settings, token_of(await console_url(client, project_id, instance_id)),
                              now=utcnow())
        expired = tokens.issue(runtime.settings, tokens.ConsoleGrant(
            grant.key_id, grant.instance_id, grant.project_id, grant.region_id, "serial",
            int(utcnow().replace(tzinfo=dt.UTC).timestamp()) - 1))
        r = await client.get("/console/serial.html", params={"token": expired})
        assert r.status_code == 401
        assert "expired" in r.text

    async def test_deleted_instance_is_404(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        target = await console_url(client, project_id, instance_id, console_type="serial")
        assert (await client.delete(f"/v1/instances/{project_id}/1/{instance_id}")).status_code == 200
        assert (await client.get(target)).status_code == 404

    async def test_unknown_page_is_404(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        token = token_of(await console_url(client, project_id, instance_id))
        assert (await client.get("/console/other.html", params={"token": token})).status_code == 404


class TestSingleUse:
    async def test_reloading_the_page_is_410(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        target = await console_url(client, project_id, instance_id, console_type="serial")
        assert (await client.get(target)).status_code == 200
        again = await client.get(target)
        assert again.status_code == 410
        assert "already used: ask for a new one" in again.text
        # a new link opens again
        assert (await client.get(await console_url(client, project_id, instance_id))).status_code == 200

    async def test_page_then_socket_each_once(self, app, client, project_id):
        instance_id = await new_instance(client, project_id)
        token = token_of(await console_url(client, project_id, instance_id, console_type="serial"))
        assert (await client.get("/console/serial.html", params={"token": token})).status_code == 200
        async with WebSocketSession(app, f"/console/ws?token={token}") as ws:
            assert "login:" in await ws.read_until(r"login: $")
        async with WebSocketSession(app, f"/console/ws?token={token}") as ws:
            await ws.read_until("already used")
            await ws.read_until("never", timeout=5)
        assert ws.closed is not None and ws.closed["code"] == 4410

    async def test_concurrent_loads_open_once(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        target = await console_url(client, project_id, instance_id, console_type="serial")
        answers = await asyncio.gather(*[client.get(target) for _ in range(8)])
        assert sorted(r.status_code for r in answers) == [200] + [410] * 7

    async def test_a_bad_token_does_not_spend_anything(self, client, project_id, runtime):
        from cloudlet.models import console_tokens

        async with runtime.db.read() as conn:
            before = (await conn.execute(sa.select(sa.func.count()).select_from(console_tokens))).scalar()
        assert (await client.get("/console/serial.html", params={"token": "nonsense"})).status_code == 401
        async with runtime.db.read() as conn:
            assert (await conn.execute(sa.select(sa.func.count()).select_from(console_tokens))).scalar() == before

    async def test_expired_uses_are_purged(self, client, project_id, runtime):
        from cloudlet.models import console_tokens

        async with runtime.db.transaction() as conn:
            await conn.execute(sa.insert(console_tokens).values(nonce="old:page",
                                                                expires_at=utcnow() - dt.timedelta(seconds=1)))
        instance_id = await new_instance(client, project_id)
        assert (await client.get(await console_url(client, project_id, instance_id))).status_code == 200
        async with runtime.db.read() as conn:
            nonces = set((await conn.execute(sa.select(console_tokens.c.nonce))).scalars())
        assert "old:page" not in nonces

    def test_each_token_has_its_own_nonce(self, runtime):
        grant = tokens.ConsoleGrant(1, "i", 1, 1, "serial", 2**40)
        a, b = tokens.issue(runtime.settings, grant), tokens.issue(runtime.settings, grant)
        na, nb = (tokens.verify(runtime.settings, t, now=utcnow()).nonce for t in (a, b))
        assert na != nb and len(na) == 32


class Settingsless:
    """Settings with another signing key: a token from another cloudlet."""

    def __init__(self, settings: Any, key: str) -> None:
        self.console_secret = key
        self.data_dir = settings.data_dir


class TestConsoleWebSocket:
    async def test_boot_log_login_and_shell(self, app, client, project_id):
        instance_id = await new_instance(client, project_id)
        inst = (await client.get(f"/v1/instances/{project_id}/1/{instance_id}")).json()
        ip = inst["addresses"]["public"][0]["addr"]
        token = token_of(await console_url(client, project_id, instance_id, console_type="serial"))
        async with WebSocketSession(app, f"/console/ws?token={token}") as ws:
            boot = await ws.read_until(r"web-1 login: $")
            assert "Linux version" in boot and "Ubuntu 22.04" in boot
            assert "Hostname set to <web-1>" in boot and ip in boot
            await ws.type("root\r")
            assert (await ws.read_until("Password: ")).endswith("Password: ")
            await ws.type("s3cret\r")
            shown = await ws.read_until(r"root@web-1:~# $")
            assert "s3cret" not in shown
            await ws.type("hostname\r")
            assert "\r\nweb-1\r\n" in await ws.read_until(r"# $")
            await ws.type("ip addr\r")
            out = await ws.read_until(r"# $")
            assert f"inet {ip}/20" in out and "ens3" in out and "inet 127.0.0.1/8" in out
            await ws.type("uptime\r")
            assert re.search(r"up \d+ min,\s+1 user,\s+load average: \d+\.\d\d", await ws.read_until(r"# $"))
            await ws.type("whoami\r")
            assert "\r\nroot\r\n" in await ws.read_until(r"# $")
            await ws.type("hostnme\x7f\x7fame\r")  # a typo fixed with backspace
            assert "\r\nweb-1\r\n" in await ws.read_until(r"# $")
            await ws.type("frobnicate\r")
            assert "-sh: frobnicate: command not found" in await ws.read_until(r"# $")
            await ws.type("exit\r")
            assert (await ws.read_until(r"login: $")).endswith("web-1 login: ")

    async def test_stopped_instance_shows_only_powered_off(self, app, client, project_id):
        instance_id = await new_instance(client, project_id)
        r = await client.post(f"/v2/instances/{project_id}/1/{instance_id}/action", json={"action": "stop"})
        assert r.status_code == 200, r.text
        token = token_of(await console_url(client, project_id, instance_id, console_type="serial"))
        async with WebSocketSession(app, f"/console/ws?token={token}") as ws:
            shown = await ws.read_until("powered off")
            await ws.type("root\r")
            await asyncio.sleep(0.1)
            assert ws.from_app.empty()
        assert "login:" not in shown and "Linux version" not in shown

    async def test_bad_token_closes_with_4401(self, app):
        async with WebSocketSession(app, "/console/ws?token=nonsense") as ws:
            await ws.read_until("no valid token")
            await ws.read_until("never", timeout=5)
        assert ws.closed is not None and ws.closed["code"] == 4401

    async def test_deleted_instance_closes_with_4404(self, app, client, project_id):
        instance_id = await new_instance(client, project_id)
        token = token_of(await console_url(client, project_id, instance_id, console_type="serial"))
        assert (await client.delete(f"/v1/instances/{project_id}/1/{instance_id}")).status_code == 200
        async with WebSocketSession(app, f"/cloud/console/ws?token={token}") as ws:
            await ws.read_until("never", timeout=5)
        assert ws.closed is not None and ws.closed["code"] == 4404


def guest(**overrides: Any) -> GuestView:
    now = utcnow()
    values: dict[str, Any] = {
        "id": "0b7c9d2e-0000-4000-8000-000000000001", "name": "Web Server_1", "host": "sim-host-1", "vcpus": 2,
        "ram": 4096, "flavor_id": "g1-standard-2-4", "os_type": "linux", "os_distro": "debian", "os_version": "12",
        "vm_state": "active", "created_at": now - dt.timedelta(days=3),
        "running": (PowerSpan(now - dt.timedelta(days=2, hours=3, minutes=4)),),
        "nics": (GuestNic("ens3", "fa:16:3e:01:02:03", ("92.38.128.10/20", "2a03:90c0:999d::10/64")),
                 GuestNic("ens4", "fa:16:3e:0a:0b:0c", ("10.0.0.5/24",))),
        "disks": (GuestDisk("vda", 10),), "ssh_key_name": "laptop",
    }
    values.update(overrides)
    return GuestView(**values)


def login(console: SimConsole, user: str = "debian") -> None:
    console.boot_log()
    console.feed(f"{user}\r")
    console.feed("pw\r")


class TestSimulatedShell:
    def test_hostname_from_the_instance_name(self):
        assert hostname_of("Web Server_1") == "web-server-1"
        assert hostname_of("___") == "instance"
        assert hostname_of("my-very-long-windows-name", windows=True) == "MY-VERY-LONG-WI"

    def test_boot_log_tells_the_instance_facts(self):
        log = "".join(SimConsole(guest()).boot_log())
        assert "Allowing 2 CPUs" in log and "[vda] 20971520 512-byte logical blocks" in log
        assert "fa:16:3e:01:02:03" in log and "92.38.128.10" in log and "laptop" in log
        assert log.endswith("Debian GNU/Linux 12 web-server-1 ttyS0\r\n\r\nweb-server-1 login: ")

    def test_ip_addr_and_route(self):
        console = SimConsole(guest())
        login(console)
        out = console.feed("ip -4 a\r")
        assert "inet 92.38.128.10/20 metric 100 brd 92.38.143.255 scope global dynamic ens3" in out
        assert "inet 10.0.0.5/24" in out and "inet6" not in out
        out = console.feed("ip addr show\r")
        assert "inet6 2a03:90c0:999d::10/64" in out and "inet6 fe80::f816:3eff:fe01:203/64 scope link" in out
        assert "default via 92.38.128.1 dev ens3" in console.feed("ip route\r")

    def test_uptime_counts_from_the_last_boot(self):
        console = SimConsole(guest())
        login(console)
        assert re.search(r" up 2 days,\s+3:04,\s+1 user", console.feed("uptime\r"))

    def test_ctrl_c_and_escape_sequences(self):
        console = SimConsole(guest())
        login(console)
        assert console.feed("hostna\x03").startswith("hostna^C\r\n")
        assert "web-server-1" in console.feed("host\x1b[D\x1b[Cname\r")

    def test_windows_guest_gets_sac(self):
        console = SimConsole(guest(os_type="windows", os_distro="windows", os_version="2022"))
        assert "SAC>" in "".join(console.boot_log())
        assert "Computer Name: WEB-SERVER-1" in console.feed("id\r")
        assert "Ip=92.38.128.10" in console.feed("i\r")

    def test_powered_off_guest_is_silent(self):
        console = SimConsole(guest(vm_state="stopped", running=()))
        (line,) = console.boot_log()
        assert "powered off" in line
        assert console.feed("root\r") == ""
