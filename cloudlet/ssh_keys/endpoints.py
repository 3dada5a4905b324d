"""SSH keys API routes (project-wide: no region in the path)."""

from __future__ import annotations

from typing import Literal

from litestar import delete, get, post
from litestar.params import JSONBody

from cloudlet.core.auth import PrincipalDep
from cloudlet.core.pagination import page_bounds
from cloudlet.runtime import RuntimeDep
from cloudlet.ssh_keys import service
from cloudlet.ssh_keys.schemas import CreateSSHKeyRequest, SSHKey, SSHKeyCreated, SSHKeyList, ssh_key_out

TAGS = ["ssh_keys"]
BASE = "/v1/ssh_keys/{project_id:int}"
OrderBy = Literal["created_at.asc", "created_at.desc", "name.asc", "name.desc"]


@post(BASE, status_code=200, tags=TAGS, summary="Add or generate an SSH key")
async def create_ssh_key(project_id: int, data: JSONBody[CreateSSHKeyRequest], principal: PrincipalDep,
                         runtime: RuntimeDep) -> SSHKeyCreated:
    """Upload ``public_key`` (ssh-ed25519, ssh-rsa of 2048+ bits, or ecdsa-sha2-nistp256/384/521), or omit
    it to get a new Ed25519 pair: its ``private_key`` is in this response only and is not kept."""
    async with runtime.db.transaction() as conn:
        return await service.create_ssh_key(conn, principal, project_id, data)


@get(BASE, tags=TAGS, summary="List SSH keys")
async def list_ssh_keys(
    project_id: int,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    limit: int | None = None,
    offset: int | None = None,
    name: str | None = None,
    order_by: OrderBy = "created_at.desc",
) -> SSHKeyList:
    """``name`` is a case-insensitive substring; ``limit`` defaults to 10, as in Gcore."""
    limit, offset = page_bounds(limit, offset, default=10)
    async with runtime.db.read() as conn:
        rows, total = await service.list_ssh_key_rows(conn, principal, project_id, name=name, order_by=order_by,
                                                      limit=limit, offset=offset)
    return SSHKeyList(count=total, results=[ssh_key_out(r) for r in rows])


@get(BASE + "/{ssh_key_id:str}", tags=TAGS, summary="Get an SSH key")
async def get_ssh_key(project_id: int, ssh_key_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> SSHKey:
    async with runtime.db.read() as conn:
        return ssh_key_out(await service.get_ssh_key_row(conn, principal, project_id, ssh_key_id))


@delete(BASE + "/{ssh_key_id:str}", tags=TAGS, summary="Delete an SSH key")
async def delete_ssh_key(project_id: int, ssh_key_id: str, principal: PrincipalDep, runtime: RuntimeDep) -> None:
    async with runtime.db.transaction() as conn:
        await service.delete_ssh_key(conn, principal, project_id, ssh_key_id)


routes = [create_ssh_key, list_ssh_keys, get_ssh_key, delete_ssh_key]
