"""Wire models of ``POST /v1/instances/.../metrics`` (endpoints.md 2.24). The capital ``B`` is Gcore's."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct


class MetricsRequest(Struct):
    time_interval: Annotated[int, Meta(gt=0, description="How far back, in time_unit")]
    time_unit: Literal["day", "hour"]


class DiskMetrics(Struct):
    disk_name: str | None
    disk_Bps_read: float | None
    disk_Bps_write: float | None
    disk_iops_read: float | None
    disk_iops_write: float | None


class Metrics(Struct):
    time: str
    cpu_util: float | None
    memory_util: float | None
    network_Bps_ingress: float | None
    network_Bps_egress: float | None
    network_pps_ingress: float | None
    network_pps_egress: float | None
    disks: list[DiskMetrics] | None


class MetricsList(Struct):
    count: int
    results: list[Metrics]
