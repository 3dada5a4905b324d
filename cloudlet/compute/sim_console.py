"""The simulated guest's serial console: a boot log, a login prompt and a tiny shell.

``SimConsole`` is pure: given a ``GuestView`` it produces the boot log and answers typed input
(it works like a terminal line discipline: echo, backspace, Ctrl-C, Enter). What it shows comes from
the instance's real data: hostname from its name, ``ip addr`` from its ports, ``uptime`` from its
power history, the load average from the same curves the metrics endpoint reports.
``SimConsoleStream`` plays it over asyncio as a ``ConsoleStream``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import ipaddress
import re
import shlex
from collections.abc import Callable

from cloudlet.compute import sim_metrics
from cloudlet.compute.base import GuestView
from cloudlet.core.clock import utcnow

CRLF = "\r\n"
OK = "[  \x1b[0;32mOK\x1b[0m  ]"
RUNNING_STATES = ("active", "resized", "rescued")
HELP = """This is cloudlet's simulated guest. It understands:
  hostname     the guest's hostname
  ip addr      its network interfaces and addresses
  uptime       time since boot and load average
  whoami, pwd, date, uname [-a], echo, clear
  exit         log out (back to the login prompt)"""


@dataclasses.dataclass(frozen=True, slots=True)
class Distro:
    pretty: str  # the /etc/issue line
    kernel: str
    user: str  # the cloud image's default user
    systemd: str
    welcome: str | None = None
    issue_hint: str | None = None  # printed above the login prompt
    rhel_prompt: bool = False


_DISTROS = {
    ("ubuntu", "22.04"): Distro("Ubuntu 22.04.4 LTS", "5.15.0-91-generic", "ubuntu", "249.11-0ubuntu3.11",
                                welcome="Welcome to Ubuntu 22.04.4 LTS (GNU/Linux 5.15.0-91-generic x86_64)"),
    ("ubuntu", "24.04"): Distro("Ubuntu 24.04.1 LTS", "6.8.0-45-generic", "ubuntu", "255.4-1ubuntu8.4",
                                welcome="Welcome to Ubuntu 24.04.1 LTS (GNU/Linux 6.8.0-45-generic x86_64)"),
    ("debian", None): Distro("Debian GNU/Linux 12", "6.1.0-25-cloud-amd64", "debian", "252.30-1~deb12u2",
                             welcome="Linux {host} 6.1.0-25-cloud-amd64 #1 SMP PREEMPT_DYNAMIC Debian "
                                     "6.1.106-3 (2024-08-26) x86_64"),
    ("rocky", None): Distro("Rocky Linux 9.4 (Blue Onyx)", "5.14.0-427.13.1.el9_4.x86_64", "rocky", "252-32.el9_4",
                            rhel_prompt=True),
    ("cirros", None): Distro("CirrOS 0.6.2", "5.15.0-71-generic", "cirros", "none",
                             issue_hint="login as 'cirros' user. default password: 'gocubsgo'. use 'sudo' for root."),
}
_GENERIC = Distro("Linux", "6.1.0-25-cloud-amd64", "cloud-user", "252.30-1~deb12u2")


def distro_of(guest: GuestView) -> Distro:
    distro = (guest.os_distro or "").lower()
    found = _DISTROS.get((distro, guest.os_version or "")) or _DISTROS.get((distro, None))
    if found is None:
        found = _DISTROS[("ubuntu", "22.04")] if distro == "ubuntu" else _GENERIC
    return found


def hostname_of(name: str, *, windows: bool = False) -> str:
    """The guest's hostname as cloud-init (or Windows setup) derives it from the instance name."""
    if windows:
        return (re.sub(r"[^A-Za-z0-9-]", "-", name).strip("-")[:15] or "WINDOWS").upper()
    host = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63]
    return host or "instance"


def _uptime_text(seconds: float) -> str:
    minutes = int(seconds // 60)
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    parts.append(f"{hours:2d}:{minutes:02d}" if hours else f"{minutes} min")
    return ", ".join(parts)


class SimConsole:
    """One console session on a simulated guest."""

    def __init__(self, guest: GuestView, *, now: Callable[[], dt.datetime] = utcnow) -> None:
        self.guest = guest
        self._now = now
        self.windows = guest.os_type == "windows"
        self.hostname = hostname_of(guest.name, windows=self.windows)
        self.distro = distro_of(guest)
        self.powered = guest.vm_state in RUNNING_STATES
        self._mode = "off" if not self.powered else ("sac" if self.windows else "login")
        self._line = ""
        self._user = ""
        self._escape = 0  # 0: none, 1: after ESC, 2: inside a CSI sequence, 3: after ESC O
        self._after_cr = False

    # --- output ---------------------------------------------------------------------------

    def boot_log(self) -> list[str]:
        """What the console has printed since the guest booted, ending with the first prompt."""
        if not self.powered:
            return [(f"{CRLF}[cloudlet] Instance {self.guest.name} is powered off (vm_state {self.guest.vm_state}): "
                     f"its console is silent until it is started.{CRLF}")]
        if self.windows:
            return [CRLF + line + CRLF for line in (
                "Computer is booting, SAC started and initialized.", "",
                'Use the "ch -?" command for information about using channels.',
                'Use the "?" command for general help.', "")] + [self.prompt()]
        return [line + CRLF for line in self._linux_boot_lines()] + [self._login_banner()]

    def _linux_boot_lines(self) -> list[str]:
        g, d = self.guest, self.distro
        ram_k = g.ram * 1024
        lines = [
            (0.0, f"Linux version {d.kernel} (buildd@lcy02-amd64-086) (gcc 12.2.0, GNU ld 2.40) #1 SMP"),
            (0.0, f"Command line: BOOT_IMAGE=/vmlinuz-{d.kernel} root=LABEL=cloudimg-rootfs ro console=ttyS0"),
            (0.0, "DMI: OpenStack Foundation OpenStack Nova, BIOS 1.16.3-debian-1.16.3-2 04/01/2014"),
            (0.0, "Hypervisor detected: KVM"),
            (0.004, f"smpboot: Allowing {g.vcpus} CPUs, 0 hotplug CPUs"),
            (0.061, f"Memory: {ram_k - ram_k // 40 - 61440}K/{ram_k}K available"),
            (0.213, f"smp: Brought up 1 node, {g.vcpus} CPUs"),
        ]
        stamp = 0.9
        for n, nic in enumerate(g.nics):
            lines.append((stamp, f"virtio_net virtio{n} {nic.name}: renamed from eth{n}"))
            stamp += 0.02
        for n, disk in enumerate(g.disks, start=len(g.nics)):
            sectors = disk.size * 1024**3 // 512
            size = f"({disk.size * 1.073741824:.1f} GB/{disk.size} GiB)"
            lines.append((stamp, f"virtio_blk virtio{n}: [{disk.name}] {sectors} 512-byte logical blocks {size}"))
            stamp += 0.013
        root = g.disks[0].name if g.disks else "vda"
        lines += [(2.417, f"EXT4-fs ({root}1): mounted filesystem with ordered data mode. Quota mode: none."),
                  (3.102, f"systemd[1]: systemd {d.systemd} running in system mode"),
                  (3.188, f"systemd[1]: Hostname set to <{self.hostname}>.")]
        out = [f"[{t:12.6f}] {text}" for t, text in lines]
        out += [f"{OK} Started Journal Service.", f"{OK} Finished Load Kernel Modules.",
                f"{OK} Reached target Local File Systems.", f"{OK} Started Network Name Resolution.",
                f"{OK} Reached target Network.",
                "         Starting Initial cloud-init job (metadata service crawler)...",
                f"{OK} Finished Initial cloud-init job (metadata service crawler)."]
        out += self._ci_info()
        out += [f"{OK} Started OpenBSD Secure Shell server.", f"{OK} Reached target Multi-User System.",
                "         Starting Execute cloud user/final scripts...",
                f"{OK} Finished Execute cloud user/final scripts.", f"{OK} Reached target Cloud-init target."]
        return out

    def _ci_info(self) -> list[str]:
        rows = [("Device", "Up", "Address", "Mask", "Scope", "Hw-Address")]
        for nic in self.guest.nics:
            for cidr in nic.addresses:
                iface = ipaddress.ip_interface(cidr)
                mask = str(iface.network.netmask) if iface.version == 4 else f"/{iface.network.prefixlen}"
                rows.append((nic.name, "True", str(iface.ip), mask, "global", nic.mac_address))
        widths = [max(len(r[i]) for r in rows) for i in range(6)]

        def fmt(row: tuple[str, ...]) -> str:
            return "| " + " | ".join(c.center(w) for c, w in zip(row, widths, strict=True)) + " |"

        rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
        out = ["ci-info: " + "Net device info".center(len(rule), "+"), "ci-info: " + rule, "ci-info: " + fmt(rows[0]),
               "ci-info: " + rule]
        out += ["ci-info: " + fmt(r) for r in rows[1:]] + ["ci-info: " + rule]
        if self.guest.ssh_key_name:
            out.append(f"ci-info: Authorized keys for user {self.distro.user}: {self.guest.ssh_key_name}")
        else:
            out.append(f"ci-info: no authorized SSH keys fingerprints found for user {self.distro.user}.")
        return out

    def _login_banner(self) -> str:
        d = self.distro
        issue = f"{d.pretty}{CRLF}Kernel {d.kernel} on an x86_64" if d.rhel_prompt else f"{d.pretty} {self.hostname} ttyS0"
        hint = f"{d.issue_hint}{CRLF}" if d.issue_hint else ""
        return f"{CRLF}{issue}{CRLF}{CRLF}{hint}{self.prompt()}"

    def prompt(self) -> str:
        if self._mode == "sac":
            return "SAC>"
        if self._mode == "login":
            return f"{self.hostname} login: "
        if self._mode == "password":
            return "Password: "
        if self._mode == "shell":
            sign = "#" if self._user == "root" else "$"
            if self.distro.rhel_prompt:
                return f"[{self._user}@{self.hostname} ~]{sign} "
            return f"{self._user}@{self.hostname}:~{sign} "
        return ""

    # --- input ----------------------------------------------------------------------------

    def feed(self, data: str) -> str:
        """Take typed characters; return what the terminal shows in answer."""
        if self._mode == "off":
            return ""
        out: list[str] = []
        for ch in data:
            if self._escape:
                self._skip_escape(ch)
                continue
            if ch == "\n" and self._after_cr:
                self._after_cr = False
                continue
            self._after_cr = ch == "\r"
            if ch in "\r\n":
                line, self._line = self._line, ""
                out.append(CRLF + self._enter(line))
            elif ch in "\x7f\b":
                if self._line:
                    self._line = self._line[:-1]
                    if self._mode != "password":
                        out.append("\b \b")
            elif ch == "\x03":
                self._line = ""
                if self._mode == "password":
                    self._mode = "login"
                out.append("^C" + CRLF + self.prompt())
            elif ch == "\x04" and not self._line and self._mode == "shell":
                out.append(CRLF + self._logout())
            elif ch == "\x15":
                if self._mode != "password":
                    out.append("\b \b" * len(self._line))
                self._line = ""
            elif ch == "\x1b":
                self._escape = 1
            elif ch >= " ":
                self._line += ch
                if self._mode != "password":
                    out.append(ch)
        return "".join(out)

    def _skip_escape(self, ch: str) -> None:
        if self._escape == 1:
            self._escape = 2 if ch == "[" else 3 if ch == "O" else 0
        elif self._escape == 3 or "@" <= ch <= "~":
            self._escape = 0

    def _enter(self, line: str) -> str:
        if self._mode == "login":
            self._user = line.strip()
            if not self._user:
                return self.prompt()
            self._mode = "password"
            return self.prompt()
        if self._mode == "password":
            self._mode = "shell"
            return self._motd() + self.prompt()
        if self._mode == "sac":
            return self._sac(line.strip()) + self.prompt()
        answer = self._run(line.strip())
        if self._mode != "shell":  # the command logged out
            return answer
        return answer + self.prompt()

    def _motd(self) -> str:
        when = self._now().strftime("%a %b %d %H:%M:%S UTC %Y")
        lines = []
        if self.distro.welcome:
            lines += [self.distro.welcome.format(host=self.hostname), ""]
        lines += [f"  System information as of {when}", "",
                  f"  System load:  {self._load()[0]:.2f}",
                  f"  Memory:       {self.guest.ram} MiB on {self.guest.vcpus} vCPU ({self.guest.flavor_id})"]
        first = next((a for n in self.guest.nics for a in n.addresses if ":" not in a), None)
        if first:
            lines.append(f"  IPv4 address for {self.guest.nics[0].name}: {first.split('/')[0]}")
        lines += ["", "Type 'help' to see what this simulated console understands.", ""]
        return CRLF.join(lines) + CRLF

    def _logout(self) -> str:
        self._mode, self._user, self._line = "login", "", ""
        return "logout" + CRLF + self._login_banner()

    # --- commands -------------------------------------------------------------------------

    def _run(self, line: str) -> str:
        if not line:
            return ""
        try:
            words = shlex.split(line)
        except ValueError:
            words = line.split()
        if not words:
            return ""
        command, args = words[0], words[1:]
        handler: Callable[[], str] | None = {
            "hostname": lambda: self.hostname,
            "whoami": lambda: self._user,
            "uptime": self._uptime,
            "ip": lambda: self._ip(args),
            "help": self._help,
            "pwd": lambda: "/root" if self._user == "root" else f"/home/{self._user}",
            "date": lambda: self._now().strftime("%a %b %d %H:%M:%S UTC %Y"),
            "uname": lambda: f"Linux {self.hostname} {self.distro.kernel} #1 SMP x86_64 GNU/Linux"
            if "-a" in args else "Linux",
            "echo": lambda: " ".join(args),
            "clear": lambda: "\x1b[H\x1b[2J",
        }.get(command)
        if command in ("exit", "logout"):
            return self._logout()
        if handler is None:
            return f"-sh: {command}: command not found{CRLF}"
        text = handler()
        if not text:
            return ""
        return text.replace("\n", CRLF) + ("" if text.endswith("\x1b[2J") else CRLF)

    def _help(self) -> str:
        return HELP

    def _load(self) -> tuple[float, float, float]:
        now = self._now()
        loads = []
        for minutes in (1, 5, 15):
            samples = sim_metrics.series(self.guest, now - dt.timedelta(minutes=minutes), now, 15)
            cpu = [s.cpu_util or 0.0 for s in samples] or [0.0]
            loads.append(sum(cpu) / len(cpu) / 100 * self.guest.vcpus)
        return loads[0], loads[1], loads[2]

    def _uptime(self) -> str:
        now = self._now()
        booted = self.guest.booted_at or now
        load = ", ".join(f"{v:.2f}" for v in self._load())
        return f" {now:%H:%M:%S} up {_uptime_text((now - booted).total_seconds())},  1 user,  load average: {load}"

    def _ip(self, args: list[str]) -> str:
        families = {4, 6}
        objects = [a for a in args if not a.startswith("-")]
        if "-4" in args:
            families = {4}
        if "-6" in args:
            families = {6}
        if not objects:
            return 'Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }\nwhere  OBJECT := { address | link | route }'
        obj = objects[0]
        if "address".startswith(obj) or obj == "addr":
            return self._ip_addr(families)
        if "link".startswith(obj):
            return self._ip_addr(set())
        if "route".startswith(obj):
            return self._ip_route()
        return f'Object "{obj}" is unknown, try "ip help".'

    def _ip_addr(self, families: set[int]) -> str:
        lines = ["1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000",
                 "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00"]
        if 4 in families:
            lines += ["    inet 127.0.0.1/8 scope host lo", "       valid_lft forever preferred_lft forever"]
        if 6 in families:
            lines += ["    inet6 ::1/128 scope host noprefixroute", "       valid_lft forever preferred_lft forever"]
        for n, nic in enumerate(self.guest.nics, start=2):
            lines += [(f"{n}: {nic.name}: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc fq_codel state UP "
                       "group default qlen 1000"),
                      f"    link/ether {nic.mac_address} brd ff:ff:ff:ff:ff:ff",
                      f"    altname enp0s{nic.name[3:] if nic.name.startswith('ens') else n + 1}"]
            for cidr in nic.addresses:
                iface = ipaddress.ip_interface(cidr)
                if iface.version not in families:
                    continue
                if iface.version == 4:
                    brd = iface.network.broadcast_address
                    lines += [f"    inet {cidr} metric 100 brd {brd} scope global dynamic {nic.name}",
                              "       valid_lft 86195sec preferred_lft 86195sec"]
                else:
                    lines += [f"    inet6 {cidr} scope global dynamic mngtmpaddr noprefixroute",
                              "       valid_lft 86384sec preferred_lft 14384sec"]
            if 6 in families:
                lines += [f"    inet6 {_link_local(nic.mac_address)}/64 scope link",
                          "       valid_lft forever preferred_lft forever"]
        return "\n".join(lines)

    def _ip_route(self) -> str:
        lines: list[str] = []
        for nic in self.guest.nics:
            for cidr in nic.addresses:
                iface = ipaddress.ip_interface(cidr)
                if iface.version != 4:
                    continue
                if not lines:
                    gateway = next(iface.network.hosts(), iface.ip)
                    lines.append(f"default via {gateway} dev {nic.name} proto dhcp src {iface.ip} metric 100")
                lines.append(f"{iface.network} dev {nic.name} proto kernel scope link src {iface.ip} metric 100")
        return "\n".join(lines)

    def _sac(self, line: str) -> str:
        if not line:
            return ""
        if line in ("?", "help"):
            return CRLF.join(["ch             Channel management commands. Use ch -? for more help.",
                              "i              List all IP network numbers and their IP addresses.",
                              "id             Display the computer identification information.",
                              "restart        Restart the system immediately.", ""])
        if line == "i":
            rows = [f"Net: {n + 10}, Ip={a.split('/')[0]}  Subnet={ipaddress.ip_interface(a).network.netmask}"
                    for n, nic in enumerate(self.guest.nics) for a in nic.addresses if ":" not in a]
            return CRLF.join(rows) + CRLF
        if line == "id":
            return CRLF.join([f"Computer Name: {self.hostname}", "Computer GUID: " + self.guest.id,
                              "Processor Architecture: x64", f"Processors: {self.guest.vcpus}", ""])
        return f"Unrecognized command.  Try '?' for help.{CRLF}"


def _link_local(mac: str) -> str:
    octets = [int(b, 16) for b in mac.split(":")]
    if len(octets) != 6:
        return "fe80::1"
    octets[0] ^= 0x02
    eui = octets[:3] + [0xFF, 0xFE] + octets[3:]
    groups = [f"{(eui[i] << 8) | eui[i + 1]:x}" for i in range(0, 8, 2)]
    return str(ipaddress.ip_address("fe80::" + ":".join(groups)))


class SimConsoleStream:
    """A ``ConsoleStream`` over a ``SimConsole``: the boot log is played line by line, then typing is answered."""

    def __init__(self, console: SimConsole, *, line_delay: float = 0.0) -> None:
        self._console = console
        self._out: asyncio.Queue[str] = asyncio.Queue()
        self._closed = False
        self._player = asyncio.get_running_loop().create_task(self._play(console.boot_log(), line_delay))

    async def _play(self, chunks: list[str], delay: float) -> None:
        for chunk in chunks:
            self._out.put_nowait(chunk)
            if delay > 0:
                await asyncio.sleep(delay)

    async def read(self) -> str:
        if self._closed:
            return ""
        return await self._out.get()

    async def write(self, data: str) -> None:
        if not self._closed:
            answer = self._console.feed(data)
            if answer:
                self._out.put_nowait(answer)

    async def close(self) -> None:
        self._closed = True
        self._player.cancel()
        self._out.put_nowait("")
