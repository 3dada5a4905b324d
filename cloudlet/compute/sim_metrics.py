"""Deterministic, plausible load curves for simulated guests.

Each guest gets a personality from a hash of its id (how busy it is, how chatty on the network, at
which hour it peaks). A value at time ``t`` depends only on (guest id, t), so overlapping queries
agree and repeating one gives the same answer; nothing uses global random state. While the guest
is off (outside its ``running`` spans) every rate is zero; before it was created there are no samples.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math

from cloudlet.compute.base import DiskSample, GuestView, MetricsSample

_EPOCH = dt.datetime(1970, 1, 1)


def _unit(seed: str, *parts: object) -> float:
    """A number in [0, 1) fixed by its arguments."""
    digest = hashlib.blake2b("|".join((seed, *map(str, parts))).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class _Noise:
    """Smooth value noise in [0, 1): hashed knots every ``period`` seconds, cosine-interpolated."""

    __slots__ = ("_knots", "_name", "_period", "_seed")

    def __init__(self, seed: str, name: str, period: float) -> None:
        self._seed, self._name, self._period = seed, name, period
        self._knots: dict[int, float] = {}

    def _knot(self, k: int) -> float:
        value = self._knots.get(k)
        if value is None:
            value = self._knots[k] = _unit(self._seed, self._name, k)
        return value

    def at(self, seconds: float) -> float:
        x = seconds / self._period
        k = math.floor(x)
        a, b = self._knot(k), self._knot(k + 1)
        w = (1 - math.cos(math.pi * (x - k))) / 2
        return a + (b - a) * w


class _Personality:
    """What makes one guest's curves its own."""

    def __init__(self, guest: GuestView) -> None:
        seed = guest.id

        def u(name: str) -> float:
            return _unit(seed, "trait", name)

        self.cpu_base = 2 + 25 * u("cpu_base") ** 2  # most guests idle, a few are busy
        self.cpu_swing = 5 + 30 * u("cpu_swing")
        self.peak_hour = 24 * u("peak_hour")
        self.mem_base = 18 + 40 * u("mem_base")
        self.net_scale = 10 ** (3 + 2 * u("net_scale"))  # 1 kB/s .. 100 kB/s
        self.out_ratio = 0.4 + 2 * u("out_ratio")
        self.packet_size = 300 + 900 * u("packet_size")
        self.disk_scale = 10 ** (4 + 1.5 * u("disk_scale"))  # 10 kB/s .. 300 kB/s written
        self.io_size = 4096 * (1 + 3 * u("io_size"))  # 4 .. 16 KiB per operation
        self.slow = _Noise(seed, "slow", 900)
        self.jitter = _Noise(seed, "jitter", 45)
        self.bursts = _Noise(seed, "bursts", 3600)
        self.mem = _Noise(seed, "mem", 1800)
        self.net_in = _Noise(seed, "net_in", 300)
        self.net_out = _Noise(seed, "net_out", 240)
        self.disk = [(_Noise(seed, f"disk{i}r", 200), _Noise(seed, f"disk{i}w", 170)) for i in range(len(guest.disks))]

    def daily(self, t: dt.datetime) -> float:
        hour = t.hour + t.minute / 60
        return 0.5 + 0.5 * math.cos(2 * math.pi * (hour - self.peak_hour) / 24)


def _since_boot(guest: GuestView, t: dt.datetime) -> float | None:
    """Seconds since the guest booted, if it was running at ``t``."""
    for span in guest.running:
        if span.start <= t and (span.end is None or t < span.end):
            return (t - span.start).total_seconds()
    return None


def _sample(guest: GuestView, p: _Personality, t: dt.datetime) -> MetricsSample:
    up = _since_boot(guest, t)
    if up is None:
        idle = tuple(DiskSample(d.name, 0.0, 0.0, 0.0, 0.0) for d in guest.disks)
        return MetricsSample(t, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, idle)
    s = (t - _EPOCH).total_seconds()
    busy = p.daily(t) * (0.4 + 0.6 * p.slow.at(s))
    burst = max(0.0, p.bursts.at(s) - 0.85) * 300  # now and then a batch job
    booting = max(0.0, 1 - up / 120) * 55  # the first two minutes after boot are busy
    cpu = p.cpu_base + p.cpu_swing * busy + 4 * (p.jitter.at(s) - 0.5) + burst + booting
    memory = p.mem_base + 12 * p.mem.at(s) + min(15.0, up / 3600 * 0.4)  # page cache grows with uptime
    net_in = p.net_scale * (0.2 + busy) * (0.5 + p.net_in.at(s))
    net_out = net_in * p.out_ratio * (0.6 + 0.8 * p.net_out.at(s))
    disks: list[DiskSample] = []
    for n, (disk, (reads, writes)) in enumerate(zip(guest.disks, p.disk, strict=True)):
        scale = p.disk_scale * (1.0 if n == 0 else 0.3) * (0.3 + busy + booting / 20)
        written = scale * (0.2 + writes.at(s))
        read = scale * 0.4 * (0.1 + reads.at(s))
        disks.append(DiskSample(disk.name, float(round(read)), float(round(written)), round(read / p.io_size, 2),
                                round(written / p.io_size, 2)))
    return MetricsSample(
        time=t,
        cpu_util=round(min(100.0, max(0.0, cpu)), 2),
        memory_util=round(min(97.0, max(1.0, memory)), 2),
        network_bytes_in=float(round(net_in)),
        network_bytes_out=float(round(net_out)),
        network_packets_in=round(net_in / p.packet_size, 2),
        network_packets_out=round(net_out / p.packet_size, 2),
        disks=tuple(disks),
    )


def series(guest: GuestView, start: dt.datetime, end: dt.datetime, step: int) -> list[MetricsSample]:
    """Samples at the multiples of ``step`` seconds in (start, end], from the guest's creation on."""
    first = math.floor((start - _EPOCH).total_seconds() / step) * step + step
    last = math.floor((end - _EPOCH).total_seconds() / step) * step
    personality = _Personality(guest)
    out = []
    for seconds in range(int(first), int(last) + 1, step):
        t = _EPOCH + dt.timedelta(seconds=seconds)
        if t >= guest.created_at:
            out.append(_sample(guest, personality, t))
    return out
