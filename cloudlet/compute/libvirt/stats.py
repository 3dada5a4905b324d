"""Metrics from libvirt's counters: snapshots of ``domainListGetStats``, turned into per-second rates.

libvirt reports totals (CPU nanoseconds, bytes, packets, requests); a rate needs two snapshots.
The driver keeps a short history per guest in memory (sampled in the background and on every
metrics call), so a range of the past shows what was sampled then; the history starts when cloudlet
started and is lost on restart.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
from typing import Any

from cloudlet.compute.base import DiskSample, MetricsSample

__all__ = ["History", "Snapshot", "rates", "series", "snapshot_from_stats"]

HISTORY_POINTS = 1440  # 6 h at the default 15 s interval


@dataclasses.dataclass(frozen=True, slots=True)
class Snapshot:
    time: dt.datetime  # naive UTC
    cpu_ns: int
    vcpus: int
    memory_util: float | None
    rx_bytes: int
    tx_bytes: int
    rx_packets: int
    tx_packets: int
    disks: dict[str, tuple[int, int, int, int]]  # name -> (read bytes, read requests, written bytes, write requests)


def _memory_util(stats: dict[str, Any]) -> float | None:
    available, unused = stats.get("balloon.available"), stats.get("balloon.unused")
    if available and unused is not None:
        return max(0.0, min(100.0, (available - unused) * 100.0 / available))
    current, rss = stats.get("balloon.current"), stats.get("balloon.rss")
    if current and rss:
        return max(0.0, min(100.0, rss * 100.0 / current))
    return None


def snapshot_from_stats(stats: dict[str, Any], at: dt.datetime, *, skip_paths: tuple[str, ...] = ()) -> Snapshot:
    """A snapshot of one domain's ``domainListGetStats`` dict; disks whose path ends with ``skip_paths`` are left out."""
    rx = tx = rxp = txp = 0
    for n in range(int(stats.get("net.count", 0))):
        rx += int(stats.get(f"net.{n}.rx.bytes", 0))
        tx += int(stats.get(f"net.{n}.tx.bytes", 0))
        rxp += int(stats.get(f"net.{n}.rx.pkts", 0))
        txp += int(stats.get(f"net.{n}.tx.pkts", 0))
    disks = {}
    for n in range(int(stats.get("block.count", 0))):
        name = stats.get(f"block.{n}.name")
        path = str(stats.get(f"block.{n}.path", ""))
        if not name or (skip_paths and path.endswith(skip_paths)):
            continue
        disks[str(name)] = (int(stats.get(f"block.{n}.rd.bytes", 0)), int(stats.get(f"block.{n}.rd.reqs", 0)),
                            int(stats.get(f"block.{n}.wr.bytes", 0)), int(stats.get(f"block.{n}.wr.reqs", 0)))
    return Snapshot(time=at, cpu_ns=int(stats.get("cpu.time", 0)), vcpus=max(int(stats.get("vcpu.current", 1)), 1),
                    memory_util=_memory_util(stats), rx_bytes=rx, tx_bytes=tx, rx_packets=rxp, tx_packets=txp,
                    disks=disks)


def rates(a: Snapshot, b: Snapshot) -> MetricsSample | None:
    """Per-second rates from ``a`` to ``b``; None if the counters went back (the guest restarted)."""
    seconds = (b.time - a.time).total_seconds()
    if seconds <= 0 or b.cpu_ns < a.cpu_ns:
        return None

    def per_second(x: int, y: int) -> float:
        return max(0.0, (y - x) / seconds)

    disks = tuple(
        DiskSample(name=name, bytes_read=per_second(a.disks[name][0], now[0]),
                   iops_read=per_second(a.disks[name][1], now[1]),
                   bytes_written=per_second(a.disks[name][2], now[2]),
                   iops_write=per_second(a.disks[name][3], now[3]))
        for name, now in sorted(b.disks.items()) if name in a.disks
    )
    cpu = (b.cpu_ns - a.cpu_ns) * 100.0 / (seconds * 1e9 * b.vcpus)
    return MetricsSample(
        time=b.time, cpu_util=round(min(100.0, max(0.0, cpu)), 3), memory_util=b.memory_util,
        network_bytes_in=per_second(a.rx_bytes, b.rx_bytes), network_bytes_out=per_second(a.tx_bytes, b.tx_bytes),
        network_packets_in=per_second(a.rx_packets, b.rx_packets),
        network_packets_out=per_second(a.tx_packets, b.tx_packets), disks=disks,
    )


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def series(snapshots: list[Snapshot], start: dt.datetime, end: dt.datetime, step: int) -> list[MetricsSample]:
    """One sample per ``step``-second bucket of (start, end] that holds data, stamped with the bucket's end."""
    buckets: dict[int, list[MetricsSample]] = {}
    for a, b in zip(snapshots, snapshots[1:]):
        if not (start < b.time <= end):
            continue
        sample = rates(a, b)
        if sample is not None:
            index = int(-(-(b.time - start).total_seconds() // step))  # ceil: (start, start+step] is bucket 1
            buckets.setdefault(index, []).append(sample)
    out = []
    for index in sorted(buckets):
        group = buckets[index]
        names = sorted({d.name for s in group for d in s.disks})
        disks = tuple(
            DiskSample(name=name, **{field: sum(getattr(d, field) for s in group for d in s.disks if d.name == name)
                                     / len(group) for field in ("bytes_read", "bytes_written", "iops_read",
                                                                "iops_write")})
            for name in names
        )
        out.append(MetricsSample(
            time=min(end, start + dt.timedelta(seconds=index * step)),
            cpu_util=_mean([s.cpu_util for s in group]), memory_util=_mean([s.memory_util for s in group]),
            network_bytes_in=_mean([s.network_bytes_in for s in group]),
            network_bytes_out=_mean([s.network_bytes_out for s in group]),
            network_packets_in=_mean([s.network_packets_in for s in group]),
            network_packets_out=_mean([s.network_packets_out for s in group]),
            disks=disks,
        ))
    return out


class History:
    """Recent snapshots per instance (thread-safe enough: appends and copies of deques)."""

    def __init__(self, points: int = HISTORY_POINTS) -> None:
        self._points = points
        self._by_instance: dict[str, collections.deque[Snapshot]] = {}

    def add(self, instance_id: str, snapshot: Snapshot) -> None:
        self._by_instance.setdefault(instance_id, collections.deque(maxlen=self._points)).append(snapshot)

    def get(self, instance_id: str) -> list[Snapshot]:
        return list(self._by_instance.get(instance_id, ()))

    def forget(self, instance_id: str) -> None:
        self._by_instance.pop(instance_id, None)
