"""``cloudlet admin ...``: offline administration against the configured database.

The same decisions as the admin API (``cloudlet.admin.service``), without a running server:
``create-reseller``, ``create-client``, ``create-key`` (prints the token once), ``list-keys``,
``delete-key`` and ``set-quota``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from cloudlet.config import Settings
from cloudlet.core.auth import ROLES
from cloudlet.core.db import Conn
from cloudlet.core.errors import CloudletError


def _run(settings: Settings, work: Callable[[Conn], Awaitable[Any]]) -> Any:
    """Run ``work`` in one write transaction on a migrated database; a refusal exits with its message."""
    from cloudlet.app import build_runtime, prepare_database

    async def run() -> Any:
        runtime = build_runtime(settings, run_workers=False)
        try:
            await prepare_database(runtime)
            async with runtime.db.transaction() as conn:
                return await work(conn)
        finally:
            await runtime.db.dispose()

    try:
        return asyncio.run(run())
    except CloudletError as exc:
        raise SystemExit(f"cloudlet: {exc.message}") from None


def _limit_pair(text: str) -> tuple[str, int | None]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r}: use <quota>_limit=N, e.g. cpu_count_limit=16 (or =none)")
    if value.lower() in ("none", "null", ""):
        return key, None
    try:
        return key, int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: the limit must be a whole number or 'none'") from None


def add_admin_commands(sub: Any, add_settings_flags: Callable[[argparse.ArgumentParser], None],
                       apply_flags: Callable[[argparse.Namespace], Settings]) -> None:
    from cloudlet.admin import repository, service

    admin = sub.add_parser("admin", help="offline administration")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)

    def command(name: str, help_text: str, func: Callable[[argparse.Namespace, Settings], None]
                ) -> argparse.ArgumentParser:
        parser = admin_sub.add_parser(name, help=help_text)
        add_settings_flags(parser)
        parser.set_defaults(func=lambda args: func(args, apply_flags(args)))
        return parser

    # create-reseller
    def create_reseller(args: argparse.Namespace, settings: Settings) -> None:
        row = _run(settings, lambda conn: repository.insert_reseller(conn, name=args.name))
        print(row.id)

    command("create-reseller", "create a reseller and print its id", create_reseller).add_argument(
        "--name", required=True)

    # create-client
    def create_client(args: argparse.Namespace, settings: Settings) -> None:
        row = _run(settings, lambda conn: service.create_client(conn, name=args.name, reseller_id=args.reseller_id))
        print(row.id)

    parser = command("create-client", "create a client (optionally of a reseller) and print its id", create_client)
    parser.add_argument("--name", required=True)
    parser.add_argument("--reseller-id", type=int)

    # create-key
    def create_key(args: argparse.Namespace, settings: Settings) -> None:
        if args.role == "client" and args.client_id is None:
            raise SystemExit("cloudlet: a client key needs --client-id")
        if args.role == "reseller" and args.reseller_id is None:
            raise SystemExit("cloudlet: a reseller key needs --reseller-id")
        _, token = _run(settings, lambda conn: service.create_api_key(
            conn, name=args.name, role=args.role, client_id=args.client_id, reseller_id=args.reseller_id))
        print(token)

    parser = command("create-key", "create an API key and print its token once", create_key)
    parser.add_argument("--name", required=True)
    parser.add_argument("--role", choices=ROLES, default="client")
    parser.add_argument("--client-id", type=int)
    parser.add_argument("--reseller-id", type=int)

    # list-keys
    def list_keys(args: argparse.Namespace, settings: Settings) -> None:
        rows, _ = _run(settings, lambda conn: repository.list_keys(conn, role=args.role, client_id=args.client_id,
                                                                    reseller_id=args.reseller_id, limit=100_000,
                                                                    offset=0))
        for r in rows:
            owner = f"client {r.client_id}" if r.client_id else f"reseller {r.reseller_id}" if r.reseller_id else "-"
            print(f"{r.id}\t{r.role}\t{owner}\t...{r.token_hint}\t{r.name}")

    parser = command("list-keys", "list API keys (id, role, owner, token hint, name)", list_keys)
    parser.add_argument("--role", choices=ROLES)
    parser.add_argument("--client-id", type=int)
    parser.add_argument("--reseller-id", type=int)

    # delete-key
    def delete_key(args: argparse.Namespace, settings: Settings) -> None:
        _run(settings, lambda conn: service.delete_api_key(conn, args.id))
        print(f"API key {args.id} revoked")

    command("delete-key", "revoke an API key", delete_key).add_argument("--id", type=int, required=True)

    # set-quota
    def set_quota(args: argparse.Namespace, settings: Settings) -> None:
        async def work(conn: Conn) -> dict[str, int]:
            from cloudlet.core.errors import NotFoundError
            from cloudlet.core.scope import get_region
            from cloudlet.quotas import service as quota_service

            await service.get_client(conn, args.client_id)
            if await get_region(conn, args.region_id) is None:
                raise NotFoundError(f"Region {args.region_id} could not be found")
            return await quota_service.update_limits(conn, args.client_id, args.region_id, dict(args.limits))

        print(json.dumps(_run(settings, work), indent=2, sort_keys=True))

    parser = command("set-quota", "set quota limits of a client in a region (others stay as they are)", set_quota)
    parser.add_argument("--client-id", type=int, required=True)
    parser.add_argument("--region-id", type=int, default=1)
    parser.add_argument("limits", nargs="+", type=_limit_pair, metavar="QUOTA_limit=N",
                        help="e.g. cpu_count_limit=16 ram_limit=32768 vm_count_limit=none")
