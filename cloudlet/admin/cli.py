"""``cloudlet admin ...``: offline administration against the configured database."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import Any

from cloudlet.config import Settings
from cloudlet.core.auth import ROLES, new_token


def add_admin_commands(sub: Any, add_settings_flags: Callable[[argparse.ArgumentParser], None],
                       apply_flags: Callable[[argparse.Namespace], Settings]) -> None:
    admin = sub.add_parser("admin", help="offline administration")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)

    key = admin_sub.add_parser("create-key", help="create an API key and print its token once")
    key.add_argument("--name", required=True)
    key.add_argument("--role", choices=ROLES, default="client")
    key.add_argument("--client-id", type=int)
    key.add_argument("--reseller-id", type=int)
    add_settings_flags(key)

    def create_key(args: argparse.Namespace) -> None:
        from cloudlet.admin import repository
        from cloudlet.app import build_runtime, prepare_database

        settings = apply_flags(args)
        if args.role == "client" and args.client_id is None:
            raise SystemExit("cloudlet: a client key needs --client-id")
        if args.role == "reseller" and args.reseller_id is None:
            raise SystemExit("cloudlet: a reseller key needs --reseller-id")

        async def run() -> str:
            runtime = build_runtime(settings, run_workers=False)
            try:
                await prepare_database(runtime)
                token = new_token()
                async with runtime.db.transaction() as conn:
                    await repository.insert_key(conn, name=args.name, role=args.role, token=token,
                                                client_id=args.client_id, reseller_id=args.reseller_id)
                return token
            finally:
                await runtime.db.dispose()

        print(asyncio.run(run()))

    key.set_defaults(func=create_key)
