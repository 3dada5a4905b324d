"""The ``cloudlet`` command: ``serve`` runs the API (with in-process task workers), ``migrate`` and
``admin`` work on the database directly."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from cloudlet.config import SIM_PROFILES, Settings

_FLAG_ENV = {
    "data_dir": "CLOUDLET_DATA_DIR",
    "database_url": "CLOUDLET_DATABASE_URL",
    "sim_profile": "CLOUDLET_SIM_PROFILE",
    "sim_hosts": "CLOUDLET_SIM_HOSTS",
    "workers_inline": "CLOUDLET_INLINE_WORKERS",
    "log_level": "CLOUDLET_LOG_LEVEL",
}


def _add_settings_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="state directory (env CLOUDLET_DATA_DIR, default .cloudlet)")
    parser.add_argument("--database-url", help="sqlite:///path or postgresql+asyncpg://... (env CLOUDLET_DATABASE_URL)")


def _apply_flags(args: argparse.Namespace) -> Settings:
    """Flags win over the environment; they are exported so server worker processes see them too."""
    for attr, env in _FLAG_ENV.items():
        value = getattr(args, attr, None)
        if value is not None:
            os.environ[env] = str(value)
    try:
        return Settings.from_env()
    except ValueError as exc:
        sys.exit(f"cloudlet: {exc}")


def check_driver() -> None:
    """Start the configured compute driver once and stop; exit with its reason if it cannot start."""
    from cloudlet.compute.base import DriverError
    from cloudlet.runtime import build_driver

    try:
        driver = build_driver(Settings.from_env())
    except (DriverError, ValueError) as exc:
        sys.exit(f"cloudlet: the compute driver cannot start: {exc}")
    close = getattr(driver, "close", None)
    if close is not None:
        close()


def _check_driver_first(settings: Settings) -> None:
    """A real driver is probed in a child process before the server starts: its failure is then one clear
    message, and the server's worker processes are not forked from a process holding libvirt threads."""
    if settings.driver == "simulated":
        return
    import subprocess

    probe = subprocess.run([sys.executable, "-c", "from cloudlet.cli import check_driver; check_driver()"])
    if probe.returncode != 0:
        sys.exit(probe.returncode)


def _serve(args: argparse.Namespace) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    settings = _apply_flags(args)
    if settings.is_sqlite and args.processes > 1:
        sys.exit("cloudlet: several processes need PostgreSQL (CLOUDLET_DATABASE_URL); SQLite has one writer")
    _check_driver_first(settings)
    print(f"cloudlet {_version()} on http://{args.host}:{args.port} "
          f"(database: {settings.effective_database_url.split('@')[-1]}, "
          f"{'profile: ' + settings.sim_profile if settings.driver == 'simulated' else 'driver: ' + settings.driver})",
          flush=True)
    Granian(
        "cloudlet.asgi:app",
        address=args.host,
        port=args.port,
        interface=Interfaces.ASGI,
        workers=args.processes,
        log_access=args.access_log,
        backlog=2048,
    ).serve()


def _worker(args: argparse.Namespace) -> None:
    """Task workers without the HTTP API: claim and run tasks until SIGTERM/SIGINT, then stop cleanly."""
    import signal

    from cloudlet.app import prepare_database
    from cloudlet.core.logging import configure_logging
    from cloudlet.runtime import build_runtime

    if args.concurrency is not None:
        os.environ["CLOUDLET_INLINE_WORKERS"] = str(args.concurrency)
    if args.hosts is not None:
        os.environ["CLOUDLET_WORKER_HOSTS"] = args.hosts
    settings = _apply_flags(args)
    if settings.inline_workers < 1:
        sys.exit("cloudlet: a worker needs --concurrency of at least 1")
    configure_logging(settings.log_level)

    async def run() -> None:
        from cloudlet.app import import_task_handlers

        import_task_handlers()
        runtime = build_runtime(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await prepare_database(runtime)
            await runtime.engine.start()
            print(f"cloudlet worker {runtime.engine.worker_id}: {settings.inline_workers} slots, hosts: "
                  f"{','.join(sorted(settings.worker_hosts)) if settings.worker_hosts else 'all'}", flush=True)
            await stop.wait()
            await runtime.engine.stop(timeout=args.grace)
        finally:
            await runtime.db.dispose()

    asyncio.run(run())


def _migrate(args: argparse.Namespace) -> None:
    from cloudlet.app import build_runtime, prepare_database

    settings = _apply_flags(args)

    async def run() -> None:
        runtime = build_runtime(settings, run_workers=False)
        try:
            token = await prepare_database(runtime)
        finally:
            await runtime.db.dispose()
        if token:
            print(f"admin API key: {token}")

    asyncio.run(run())
    print("database is at the newest schema")


# --- cloudlet images: files for the libvirt driver's image store, and their images rows ----------


def _register_image(settings: Settings, *, name: str, disk: Path, kernel: Path | None = None,
                    initrd: Path | None = None, cmdline: str | None = None, os_distro: str, os_version: str,
                    min_disk: int | None, min_ram: int, region_id: int | None) -> str:
    """Copy the files into the image store and insert (or, same name, update) a public image; returns its id."""
    import dataclasses
    import math

    from cloudlet.app import prepare_database
    from cloudlet.compute.libvirt import image_store
    from cloudlet.core.clock import new_id, utcnow
    from cloudlet.images import repository
    from cloudlet.runtime import build_runtime

    async def run() -> str:
        # the simulated driver: registering files needs no hypervisor connection
        runtime = build_runtime(dataclasses.replace(settings, driver="simulated"), run_workers=False)
        try:
            await prepare_database(runtime)
            async with runtime.db.transaction() as conn:
                region = region_id or await repository.default_region_id(conn)
                if region is None:
                    raise image_store.ImageStoreError("the database has no region")
                existing = await repository.get_public_by_name(conn, region, name)
                image_id = existing.id if existing is not None else new_id()
                files = image_store.store(settings.effective_image_dir, image_id, disk, kernel=kernel,
                                          initrd=initrd, cmdline=cmdline)
                virtual_gib = max(1, math.ceil(image_store.virtual_size(files.disk) / 1024**3))
                now = utcnow()
                values = {
                    "name": name, "os_distro": os_distro, "os_version": os_version, "min_disk": min_disk or virtual_gib,
                    "min_ram": min_ram, "size": files.size, "disk_format": "qcow2", "status": "active",
                    "updated_at": now,
                }
                if existing is None:
                    await repository.insert_image(conn, {
                        **values, "id": image_id, "region_id": region, "project_id": None,
                        "description": f"registered from {disk.name}", "os_type": "linux",
                        "architecture": "x86_64", "visibility": "public", "ssh_key": "allow",
                        "hw_firmware_type": None, "display_order": None, "tags": [], "created_at": now,
                    })
                else:
                    await repository.update_image(conn, image_id, values)
                return str(image_id)
        finally:
            await runtime.db.dispose()

    from cloudlet.compute.libvirt.image_store import ImageStoreError

    try:
        return asyncio.run(run())
    except ImageStoreError as exc:
        sys.exit(f"cloudlet: {exc}")


def _images_register(args: argparse.Namespace) -> None:
    settings = _apply_flags(args)
    image_id = _register_image(
        settings, name=args.name, disk=Path(args.file), kernel=Path(args.kernel) if args.kernel else None,
        initrd=Path(args.initrd) if args.initrd else None, cmdline=args.cmdline, os_distro=args.os_distro,
        os_version=args.os_version, min_disk=args.min_disk, min_ram=args.min_ram, region_id=args.region_id)
    print(f"image {args.name}: {image_id} (files in {settings.effective_image_dir})")


def _images_build_tiny(args: argparse.Namespace) -> None:
    from cloudlet.compute.libvirt import tiny_image

    settings = _apply_flags(args)
    cache = Path(args.cache_dir or os.environ.get("CLOUDLET_TINY_CACHE") or settings.data_dir / "tiny-build")
    try:
        built = tiny_image.build(cache, force=args.rebuild)
    except RuntimeError as exc:
        sys.exit(f"cloudlet: cannot build the tiny image: {exc}")
    info = built.info()
    image_id = _register_image(
        settings, name=args.name, disk=built.disk, kernel=built.kernel, initrd=built.initrd,
        cmdline=str(info["cmdline"]), os_distro="cloudlet-tiny", os_version=str(info["kernel_version"]).split("-")[0],
        min_disk=1, min_ram=64, region_id=None)
    print(f"image {args.name}: {image_id} (kernel {info['kernel_version']}, built in {cache})")


def _add_images_commands(sub: Any) -> None:
    images = sub.add_parser("images", help="image files for the libvirt driver")
    images_sub = images.add_subparsers(dest="images_command", required=True)
    register = images_sub.add_parser(
        "register", help="copy a qcow2/raw disk into the image store and add it as a public image "
                         "(same name: replaced)")
    register.add_argument("--name", required=True)
    register.add_argument("--file", required=True, help="a qcow2 or raw disk image (a cloud image, say)")
    register.add_argument("--os-distro", default="linux")
    register.add_argument("--os-version", default="")
    register.add_argument("--min-disk", type=int, help="GiB (default: the image's virtual size)")
    register.add_argument("--min-ram", type=int, default=0, help="MiB")
    register.add_argument("--kernel", help="boot this kernel directly instead of the disk's boot loader")
    register.add_argument("--initrd", help="with --kernel")
    register.add_argument("--cmdline", help="with --kernel (default: console=ttyS0 panic=-1 quiet)")
    register.add_argument("--region-id", type=int, help="default: the first region")
    _add_settings_flags(register)
    register.set_defaults(func=_images_register)
    tiny = images_sub.add_parser(
        "build-tiny", help="build the busybox guest from Debian packages and register it (image cloudlet-tiny)")
    tiny.add_argument("--name", default="cloudlet-tiny")
    tiny.add_argument("--cache-dir", help="where the build is kept (env CLOUDLET_TINY_CACHE, "
                                          "default <data dir>/tiny-build)")
    tiny.add_argument("--rebuild", action="store_true", help="build again even if the cache holds a build")
    _add_settings_flags(tiny)
    tiny.set_defaults(func=_images_build_tiny)


def _version() -> str:
    from cloudlet import __version__

    return __version__


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="cloudlet", description=__doc__)
    parser.add_argument("--version", action="version", version=f"cloudlet {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API server with in-process task workers")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--processes", type=int, default=1, help="API processes (PostgreSQL only)")
    serve.add_argument("--workers-inline", type=int, dest="workers_inline",
                       help="task worker slots in each API process; 0 = API only (env CLOUDLET_INLINE_WORKERS)")
    serve.add_argument("--sim-profile", choices=SIM_PROFILES, help="env CLOUDLET_SIM_PROFILE (default fast)")
    serve.add_argument("--sim-hosts", type=int, help="simulated hypervisors (env CLOUDLET_SIM_HOSTS, default 3)")
    serve.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    serve.add_argument("--access-log", action="store_true")
    _add_settings_flags(serve)
    serve.set_defaults(func=_serve)

    worker = sub.add_parser("worker", help="run task workers only (scale-out, PostgreSQL)")
    worker.add_argument("--concurrency", type=int, help="tasks run at once (default CLOUDLET_INLINE_WORKERS or 8)")
    worker.add_argument("--hosts", help="comma-separated hypervisors this worker serves (default: all)")
    worker.add_argument("--grace", type=float, default=30.0,
                        help="seconds to let running tasks finish on SIGTERM before releasing them")
    worker.add_argument("--sim-profile", choices=SIM_PROFILES)
    worker.add_argument("--sim-hosts", type=int)
    worker.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    _add_settings_flags(worker)
    worker.set_defaults(func=_worker)

    mig = sub.add_parser("migrate", help="apply migrations and seed an empty database, then exit")
    _add_settings_flags(mig)
    mig.set_defaults(func=_migrate)

    from cloudlet.admin.cli import add_admin_commands

    add_admin_commands(sub, _add_settings_flags, _apply_flags)
    _add_images_commands(sub)

    args = parser.parse_args(argv)
    args.func(args)
