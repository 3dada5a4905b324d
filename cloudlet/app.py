"""Build the ASGI application: routes of every API group, error handlers, and the runtime they share."""

from __future__ import annotations

import contextlib
import gc
import warnings
from collections.abc import AsyncIterator
from typing import Any

import structlog
import swagger_ui_bundle
from litestar import Litestar, Request, get
from litestar.di import Provide
from litestar.exceptions import LitestarDeprecationWarning
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

from cloudlet import __version__
from cloudlet.config import Settings
from cloudlet.core import migrate
from cloudlet.core.auth import Principal, authenticate
from cloudlet.core.db import Database
from cloudlet.core.http import EXCEPTION_HANDLERS, GcoreFrontDoor, RateLimit, declare_gcore_errors, json_response
from cloudlet.core.logging import configure_logging
from cloudlet.instances.cached_get import CachedInstanceGet
from cloudlet.instances.power_sync import start_power_sync
from cloudlet.runtime import Runtime, build_runtime

log = structlog.get_logger()


async def prepare_database(runtime: Runtime) -> str | None:
    """Migrate, seed and make sure the admin key exists; returns a newly generated admin token, if any."""
    from cloudlet.admin import service as admin_service
    from cloudlet.seed import seed_if_empty

    settings = runtime.settings
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    await migrate.upgrade(settings.effective_database_url)
    async with runtime.db.transaction() as conn:
        await migrate.hold_start_lock(conn)
        await seed_if_empty(conn)
        return await admin_service.ensure_admin_key(conn, settings)


def provide_runtime(request: Request[Any, Any, Any]) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    runtime: Runtime = request.app.state.runtime
    return await authenticate(runtime.db, request.headers.get("authorization"))


def import_task_handlers() -> None:
    """Import every group's routes, which registers their task handlers (for worker-only processes too)."""
    _route_handlers()


def _route_handlers() -> list[Any]:
    import importlib

    modules = [
        "instances.endpoints", "instances.action_endpoints", "instances.interface_endpoints", "tasks.endpoints",
        "flavors.endpoints", "images.endpoints", "regions.endpoints", "projects.endpoints", "volumes.endpoints",
        "quotas.endpoints", "ssh_keys.endpoints", "networks.endpoints", "subnets.endpoints",
        "floating_ips.endpoints", "reserved_fixed_ips.endpoints", "security_groups.endpoints",
        "servergroups.endpoints", "admin.endpoints",
        "instances.metadata_endpoints", "instances.metrics_endpoints", "apptemplates.endpoints", "console.endpoints",
        "naming.endpoints", "instances.limits_endpoints", "instances.search_endpoints",
    ]
    handlers: list[Any] = []
    for name in modules:
        handlers.extend(importlib.import_module(f"cloudlet.{name}").routes)
    docs_assets = create_static_files_router(
        path="/docs/assets", directories=[swagger_ui_bundle.swagger_ui_path], include_in_schema=False
    )
    return [*handlers, openapi_json, docs_assets]


@get("/openapi.json", include_in_schema=False, sync_to_thread=False)
def openapi_json(request: Request[Any, Any, Any]) -> Any:
    return json_response(request.app.openapi_schema.to_schema())


def create_app(settings: Settings | None = None, *, run_workers: bool = True) -> Any:
    """The ASGI app: Litestar behind ``GcoreFrontDoor`` (``/cloud`` prefix, request ids)."""
    # Litestar 2.2x warns that inferred path/query parameters go away in 3.0; cloudlet pins litestar<3.
    warnings.filterwarnings("ignore", category=LitestarDeprecationWarning)
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level)
    runtime = build_runtime(settings, run_workers=run_workers)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        token = await prepare_database(runtime)
        if token:
            print(f"cloudlet: admin API key (also in {settings.data_dir / 'admin-api-key'}): {token}", flush=True)
        if runtime.run_workers:
            await runtime.engine.start(recover_all=settings.is_sqlite)
        power_sync = start_power_sync(runtime)
        # Objects made at start-up live for the whole process: keep the collector off them.
        gc.collect()
        gc.freeze()
        # Requests allocate many short-lived objects: collect the young generation less often
        # (stack-measurements.md: +27% to +61% on list requests).
        gc.set_threshold(50_000, 20, 10)
        try:
            yield
        finally:
            await power_sync.stop()
            if runtime.run_workers:
                await runtime.engine.stop()
            await runtime.db.dispose()

    app = Litestar(
        route_handlers=_route_handlers(),
        dependencies={"runtime": Provide(provide_runtime, sync_to_thread=False), "principal": Provide(provide_principal)},
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="cloudlet",
            version=__version__,
            description="A self-hostable cloud Instances service, wire-compatible with the Gcore Cloud API. "
            "Every path is also served under /cloud.",
            path="/docs",
            # Swagger UI's files come from a Python package, so /docs works offline
            render_plugins=[
                SwaggerRenderPlugin(
                    path="/", js_url="/docs/assets/swagger-ui-bundle.js", css_url="/docs/assets/swagger-ui.css",
                    standalone_preset_js_url="/docs/assets/swagger-ui-standalone-preset.js",
                ),
                JsonRenderPlugin(path="/openapi.json"),
            ],
        ),
        debug=False,
    )
    app.state.runtime = runtime
    declare_gcore_errors(app.openapi_schema)
    return GcoreFrontDoor(app, max_body_bytes=settings.max_body_bytes,
                          rate_limit=RateLimit.parse(settings.rate_limit) if settings.rate_limit else None,
                          cached_get=CachedInstanceGet(runtime.db))
