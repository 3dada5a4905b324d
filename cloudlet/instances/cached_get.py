"""The single-instance GET served straight from the rendering cache, in front of the router.

``GET /v1/instances/{project_id}/{region_id}/{instance_id}`` is the request clients poll most. When
everything it needs is already known to this process (the API key's principal and the scope, both
cached by core/cache.py, and a rendering of the instance at its current revision) the answer costs
one indexed lookup of the revision, and the front door (core/http.py) sends the cached bytes without the
framework's routing, dependency injection and response machinery (most of a cached GET's CPU time).
Anything else (a cache miss, a missing instance, a bad path or header) goes on to the regular
endpoint, which answers exactly as before and fills the caches for the next time.
"""

from __future__ import annotations

import re

from litestar.types import HTTPScope

from cloudlet.core.auth import api_key_token, cached_principal
from cloudlet.core.db import Database
from cloudlet.core.scope import cached_scope
from cloudlet.instances import repository
from cloudlet.instances.views import cached_rendering

# the route of instances.endpoints.get_instance (Litestar also accepts a trailing slash)
_PATH = re.compile(r"/v1/instances/(\d{1,18})/(\d{1,18})/([^/]+)/?")


class CachedInstanceGet:
    """``await lane(scope)``: the cached answer's body, or None to let the router answer."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def __call__(self, scope: HTTPScope) -> bytes | None:
        matched = _PATH.fullmatch(scope["path"])
        if matched is None or scope["query_string"]:
            return None
        token = _api_key(scope)
        principal = cached_principal(self.db, token) if token else None
        if principal is None:
            return None
        project_id, region_id, instance_id = int(matched[1]), int(matched[2]), matched[3]
        if cached_scope(self.db, principal, project_id, region_id) is None:
            return None
        try:
            revision = await repository.current_revision(self.db, project_id, region_id, instance_id)
        except Exception:  # e.g. the database is unreachable: the endpoint answers, in the Gcore error shape
            return None
        if revision is None:
            return None
        return cached_rendering(self.db, "detail", instance_id, revision)


def _api_key(scope: HTTPScope) -> str | None:
    header = next((value for name, value in scope["headers"] if name == b"authorization"), None)
    return api_key_token(header.decode("latin-1")) if header is not None else None
