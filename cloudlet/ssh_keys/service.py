"""SSH key decisions: check an uploaded public key, or generate an Ed25519 pair whose private half is
returned once and never stored."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from cloudlet.core.auth import Principal
from cloudlet.core.clock import new_id, utcnow
from cloudlet.core.db import Conn
from cloudlet.core.errors import ConflictError, NotFoundError, ValidationError
from cloudlet.projects import repository as project_repository
from cloudlet.ssh_keys import repository
from cloudlet.ssh_keys.schemas import CreateSSHKeyRequest, SSHKeyCreated

KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521")
MIN_RSA_BITS = 2048


def _invalid(message: str) -> ValidationError:
    return ValidationError.for_field("public_key", message)


def fingerprint(key_blob: bytes) -> str:
    """OpenSSH's legacy MD5 form (``86:75:ce:...``), the one Gcore shows."""
    digest = hashlib.md5(key_blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def parse_public_key(text: str) -> tuple[str, str]:
    """Check one OpenSSH public key line (``type base64 [comment]``); returns it tidied and its fingerprint."""
    line = text.strip()
    if not line or "\n" in line or "\r" in line:
        raise _invalid("Give exactly one public key, on one line")
    parts = line.split(None, 2)
    if parts[0] not in KEY_TYPES:
        raise _invalid(f"Unsupported key type {parts[0][:40]!r}; use one of {', '.join(KEY_TYPES)}")
    if len(parts) < 2:
        raise _invalid("The key data is missing after the key type")
    try:
        blob = base64.b64decode(parts[1], validate=True)
        key = serialization.load_ssh_public_key(f"{parts[0]} {parts[1]}".encode())
    except (binascii.Error, ValueError, UnsupportedAlgorithm):
        raise _invalid("This is not a valid OpenSSH public key") from None
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise _invalid(f"RSA keys must have at least {MIN_RSA_BITS} bits (this one has {key.key_size})")
    return " ".join(parts), fingerprint(blob)


def generate_key_pair() -> tuple[str, str]:
    """A new Ed25519 pair: (OpenSSH public key line, OpenSSH private key PEM)."""
    private = ed25519.Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())
    return public.decode(), pem.decode()


async def project_of(conn: Conn, principal: Principal, project_id: int) -> Any:
    project = await project_repository.get(conn, principal, project_id)
    if project is None:
        raise NotFoundError(f"Project {project_id} could not be found")
    return project


async def create_ssh_key(conn: Conn, principal: Principal, project_id: int, body: CreateSSHKeyRequest) -> SSHKeyCreated:
    await project_of(conn, principal, project_id)
    private_key = None
    if body.public_key is None or not body.public_key.strip():
        public_key, private_key = generate_key_pair()
        _, key_fingerprint = parse_public_key(public_key)
    else:
        public_key, key_fingerprint = parse_public_key(body.public_key)
    values: dict[str, Any] = {
        "id": new_id(), "project_id": project_id, "name": body.name, "public_key": public_key,
        "fingerprint": key_fingerprint, "shared_in_project": body.shared_in_project, "state": "ACTIVE",
        "created_at": utcnow(),
    }
    if not await repository.insert(conn, values):
        raise ConflictError(f"SSH key with name {body.name!r} already exists in project {project_id}")
    return SSHKeyCreated(**values, private_key=private_key)


async def get_ssh_key_row(conn: Conn, principal: Principal, project_id: int, key_id: str) -> Any:
    await project_of(conn, principal, project_id)
    row = await repository.get(conn, project_id, key_id)
    if row is None:
        raise NotFoundError(f"SSH key {key_id} could not be found")
    return row


async def list_ssh_key_rows(conn: Conn, principal: Principal, project_id: int, *, name: str | None, order_by: str,
                            limit: int, offset: int) -> tuple[list[Any], int]:
    await project_of(conn, principal, project_id)
    return await repository.list_rows(conn, project_id, name=name, order_by=order_by, limit=limit, offset=offset)


async def delete_ssh_key(conn: Conn, principal: Principal, project_id: int, key_id: str) -> None:
    await project_of(conn, principal, project_id)
    if not await repository.delete(conn, project_id, key_id):
        raise NotFoundError(f"SSH key {key_id} could not be found")
