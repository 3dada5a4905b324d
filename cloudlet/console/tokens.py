"""Console tokens: signed, expiring, good for one instance and one console type.

No table holds the tokens themselves (Nova keeps console tokens in its database; cloudlet signs them
instead), so any API process can check a token another one issued, provided they share the key:
``CLOUDLET_CONSOLE_SECRET``, or else a ``console-secret`` file made once (mode 0600) in the data directory.
A token names the API key it was issued to, so revoking that key ends its use too, and carries a random
nonce: the ``console_tokens`` table records which nonces have opened their page and their websocket, so a
link works once (see ``cloudlet.console.service.open_session``).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import hmac
import os
import secrets
import threading
from pathlib import Path

from cloudlet.config import Settings
from cloudlet.core.errors import AuthenticationError

_secrets: dict[Path, bytes] = {}
_secrets_lock = threading.Lock()


@dataclasses.dataclass(frozen=True, slots=True)
class ConsoleGrant:
    key_id: int
    instance_id: str
    project_id: int
    region_id: int
    console_type: str
    expires_at: int  # Unix time
    nonce: str = ""  # random, made by ``issue``


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signing_key(settings: Settings) -> bytes:
    if settings.console_secret:
        return settings.console_secret.encode()
    path = (settings.data_dir / "console-secret").resolve()
    with _secrets_lock:
        if path not in _secrets:
            _secrets[path] = _read_or_create(path)
        return _secrets[path]


def _read_or_create(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if not key:
            raise RuntimeError(f"{path} is empty: delete it, or set CLOUDLET_CONSOLE_SECRET") from None
        return key.encode()
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    return key.encode()


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, b"cloudlet-console|" + payload, hashlib.sha256).digest()


def issue(settings: Settings, grant: ConsoleGrant) -> str:
    payload = "|".join(str(v) for v in (grant.key_id, grant.instance_id, grant.project_id, grant.region_id,
                                        grant.console_type, grant.expires_at,
                                        grant.nonce or secrets.token_hex(16))).encode()
    return f"{_b64(payload)}.{_b64(_mac(signing_key(settings), payload))}"


def verify(settings: Settings, token: str | None, *, now: dt.datetime) -> ConsoleGrant:
    """The grant a token carries; 401 if it is malformed, signed with another key, or expired."""
    if not token or token.count(".") != 1 or len(token) > 1024:
        raise AuthenticationError("This console URL has no valid token: ask for a new one (get_console)")
    encoded, signature = token.split(".")
    try:
        payload, mac = _unb64(encoded), _unb64(signature)
        fields = payload.decode().split("|")
    except (ValueError, UnicodeDecodeError):
        raise AuthenticationError("This console URL has no valid token: ask for a new one (get_console)") from None
    if not hmac.compare_digest(mac, _mac(signing_key(settings), payload)) or len(fields) != 7:
        raise AuthenticationError("This console URL has no valid token: ask for a new one (get_console)")
    key_id, instance_id, project_id, region_id, console_type, expires_at, nonce = fields
    grant = ConsoleGrant(int(key_id), instance_id, int(project_id), int(region_id), console_type, int(expires_at),
                         nonce)
    if now.replace(tzinfo=dt.UTC).timestamp() >= grant.expires_at:
        raise AuthenticationError("This console URL has expired: ask for a new one (get_console)")
    return grant
