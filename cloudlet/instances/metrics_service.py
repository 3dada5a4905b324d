"""Instance metrics: pick the resolution Gcore uses for the range, ask the driver, shape the samples."""

from __future__ import annotations

import datetime as dt

from cloudlet.compute.base import Capability, ComputeDriver, GuestView, MetricsSample
from cloudlet.core.errors import ValidationError
from cloudlet.instances.metrics_schemas import DiskMetrics, Metrics, MetricsRequest

# (longest range in seconds, step in seconds): "1h - 15 s, 6h - 20 s, 24h - 2 min, 7 days - 10 min,
# 14 days - 20 min" (behaviour.md 8); ranges in between take the next longer one's step.
RESOLUTIONS = ((3600, 15), (6 * 3600, 20), (86400, 120), (7 * 86400, 600), (14 * 86400, 1200))
MAX_RANGE = RESOLUTIONS[-1][0]
_UNIT_SECONDS = {"hour": 3600, "day": 86400}


def window(body: MetricsRequest) -> tuple[int, int]:
    """(range, step) in seconds; a range over 14 days is refused."""
    seconds = body.time_interval * _UNIT_SECONDS[body.time_unit]
    for longest, step in RESOLUTIONS:
        if seconds <= longest:
            return seconds, step
    raise ValidationError.for_field("time_interval", "Metrics are kept for 14 days: ask for at most 14 days "
                                                     "(336 hours)")


def _metrics(sample: MetricsSample) -> Metrics:
    return Metrics(
        time=sample.time.strftime("%Y-%m-%dT%H:%M:%SZ"),
        cpu_util=sample.cpu_util,
        memory_util=sample.memory_util,
        network_Bps_ingress=sample.network_bytes_in,
        network_Bps_egress=sample.network_bytes_out,
        network_pps_ingress=sample.network_packets_in,
        network_pps_egress=sample.network_packets_out,
        disks=[DiskMetrics(disk_name=d.name, disk_Bps_read=d.bytes_read, disk_Bps_write=d.bytes_written,
                           disk_iops_read=d.iops_read, disk_iops_write=d.iops_write) for d in sample.disks],
    )


async def collect(driver: ComputeDriver, guest: GuestView, body: MetricsRequest, *, now: dt.datetime) -> list[Metrics]:
    """The guest's samples over the requested range, oldest first. Call with no transaction open."""
    seconds, step = window(body)
    info = driver.info()
    if Capability.METRICS not in info.capabilities:
        raise ValidationError(f"The {info.name} compute driver does not report instance metrics")
    samples = await driver.metrics(guest, now - dt.timedelta(seconds=seconds), now, step)
    return [_metrics(s) for s in samples]
