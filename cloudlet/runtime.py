"""The objects every request handler and task shares: settings, database, driver, task engine."""

from __future__ import annotations

import dataclasses
from typing import Any

from cloudlet.compute import load_driver
from cloudlet.compute.base import ComputeDriver
from cloudlet.config import Settings
from cloudlet.core.db import Database
from cloudlet.tasks.engine import TaskEngine
from litestar.di import NamedDependency


@dataclasses.dataclass(slots=True)
class Runtime:
    """What request handlers share: settings, the database, the compute driver and the task engine."""

    settings: Settings
    db: Database
    driver: ComputeDriver
    engine: TaskEngine
    run_workers: bool = True

    async def after_commit(self, task_ids: list[str]) -> None:
        """Called once a request has committed new tasks: wake the workers and, under the
        ``instant`` profile, wait until they are done so the client's first poll sees them ended."""
        if not task_ids or not self.run_workers:
            return
        self.engine.wake()
        if self.settings.sim_profile == "instant":
            await self.engine.wait_for(task_ids, timeout=10.0)


def libvirt_options(settings: Settings) -> Any:
    """The libvirt driver's options from settings (imported here: the driver package is optional)."""
    from cloudlet.compute.libvirt.driver import LibvirtOptions

    return LibvirtOptions(
        uris=settings.libvirt_uris, image_dir=settings.effective_image_dir,
        instance_dir=settings.effective_instance_dir, max_guest_ram_mib=settings.libvirt_max_guest_ram_mib,
        max_guest_vcpus=settings.libvirt_max_guest_vcpus, shutdown_timeout=settings.libvirt_shutdown_timeout,
        stats_interval=settings.libvirt_stats_interval,
    )


def build_driver(settings: Settings) -> ComputeDriver:
    """The configured compute driver; raises ``DriverUnavailable`` when it cannot start (never falls back)."""
    return load_driver(settings.driver, sim_profile=settings.sim_profile, sim_hosts=settings.sim_hosts,
                       libvirt=libvirt_options(settings) if settings.driver == "libvirt" else None)


def build_runtime(settings: Settings, *, run_workers: bool = True) -> Runtime:
    db = Database(settings.effective_database_url, pool_size=settings.db_pool_size)
    driver = build_driver(settings)
    engine = TaskEngine(
        db, driver,
        concurrency=settings.inline_workers,
        lease_seconds=settings.task_lease_seconds,
        poll_seconds=settings.task_poll_seconds,
        retention_days=settings.finished_task_retention_days,
        hosts=settings.worker_hosts,
    )
    return Runtime(settings=settings, db=db, driver=driver, engine=engine,
                   run_workers=run_workers and settings.inline_workers > 0)


RuntimeDep = NamedDependency[Runtime]
