"""Wire models of the SSH keys API (supporting.md section 10; Python ``SSHKey`` and ``SSHKeyCreated``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from msgspec import Meta, Struct

NAME_PATTERN = r"^[a-zA-Z0-9][a-zA-Z 0-9._\-]{1,61}[a-zA-Z0-9._]$"


class CreateSSHKeyRequest(Struct):
    name: Annotated[str, Meta(pattern=NAME_PATTERN, description="3-63 characters, unique in the project")]
    public_key: Annotated[str, Meta(max_length=16384)] | None = None
    shared_in_project: bool = True


class SSHKey(Struct):
    id: str
    name: str
    public_key: str
    fingerprint: str
    shared_in_project: bool
    state: str
    project_id: int
    created_at: dt.datetime


class SSHKeyCreated(Struct):
    id: str
    name: str
    public_key: str
    fingerprint: str
    shared_in_project: bool
    state: str
    project_id: int
    created_at: dt.datetime
    private_key: str | None


class SSHKeyList(Struct):
    count: int
    results: list[SSHKey]


def ssh_key_out(row: Any) -> SSHKey:
    return SSHKey(id=row.id, name=row.name, public_key=row.public_key, fingerprint=row.fingerprint,
                  shared_in_project=row.shared_in_project, state=row.state, project_id=row.project_id,
                  created_at=row.created_at)
