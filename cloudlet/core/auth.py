"""Principals and API keys.

A request authenticates with ``Authorization: APIKey <token>`` (scheme case-insensitive). Tokens are
stored only as SHA-256 hashes; a token is shown once, when it is made.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from typing import Literal

import sqlalchemy as sa
from litestar.di import NamedDependency

from cloudlet.core.db import Conn, Database
from cloudlet.core.errors import AuthenticationError
from cloudlet.models import api_keys

Role = Literal["admin", "reseller", "client"]
ROLES: tuple[Role, ...] = ("admin", "reseller", "client")


@dataclasses.dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: one API key, with its role and the tenant it belongs to."""

    key_id: int
    role: Role
    client_id: int | None = None
    reseller_id: int | None = None

    @property
    def user_id(self) -> int:
        return self.key_id

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "cl_" + secrets.token_urlsafe(32)


def api_key_token(header: str | None) -> str | None:
    """The token of an ``APIKey <token>`` header (scheme case-insensitive), or None."""
    scheme, _, token = (header or "").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "apikey" and token else None


def parse_authorization(header: str | None) -> str:
    """Return the token of an ``APIKey <token>`` header, or raise 401."""
    token = api_key_token(header)
    if token is None:
        raise AuthenticationError("Authentication credentials were not provided.")
    return token


async def authenticate(db: Database, header: str | None) -> Principal:
    """The principal of an ``Authorization`` header (401 if none); cached briefly, see core/cache.py."""
    return await principal_of(db, parse_authorization(header))


async def principal_of(db: Database, token: str) -> Principal:
    """The principal of an API key's token (401 if unknown); cached briefly, see core/cache.py."""
    token_hash = hash_token(token)

    async def load() -> Principal:
        async with db.read() as conn:
            return await _load_principal(conn, token, token_hash)

    return await db.tenancy_cache.get_or_load(("key", token_hash), load)  # type: ignore[no-any-return]


async def _load_principal(conn: Conn, token: str, token_hash: str) -> Principal:
    row = (
        await conn.execute(
            sa.select(api_keys.c.id, api_keys.c.role, api_keys.c.client_id, api_keys.c.reseller_id).where(
                api_keys.c.token_hash == token_hash
            )
        )
    ).first()
    if row is None or not _belongs_to_one_principal(row.role, row.client_id, row.reseller_id):
        raise AuthenticationError(f"Bad permanent token: {token[:6]}...")
    return Principal(key_id=row.id, role=row.role, client_id=row.client_id, reseller_id=row.reseller_id)


def _belongs_to_one_principal(role: str, client_id: int | None, reseller_id: int | None) -> bool:
    """A key is usable only with the tenant its role needs: scoping by a missing id (``IS NULL``)
    would otherwise match every client without a reseller."""
    if role == "client":
        return client_id is not None
    if role == "reseller":
        return reseller_id is not None
    return role == "admin"


PrincipalDep = NamedDependency[Principal]
