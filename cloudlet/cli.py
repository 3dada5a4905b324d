"""The ``cloudlet`` command: ``serve`` runs the API (with in-process task workers), ``migrate`` and
``admin`` work on the database directly."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

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


def _serve(args: argparse.Namespace) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    settings = _apply_flags(args)
    if settings.is_sqlite and args.processes > 1:
        sys.exit("cloudlet: several processes need PostgreSQL (CLOUDLET_DATABASE_URL); SQLite has one writer")
    print(f"cloudlet {_version()} on http://{args.host}:{args.port} "
          f"(database: {settings.effective_database_url.split('@')[-1]}, profile: {settings.sim_profile})", flush=True)
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

    args = parser.parse_args(argv)
    args.func(args)
