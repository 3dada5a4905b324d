"""The single-instance GET served straight from the rendering cache, in front of the router.

``GET /v1/instances/{project_id}/{region_id}/{instance_id}`` is the request clients poll most. When
a rendering of the instance at its current revision is known to this process, the answer costs one
indexed lookup of the revision (and, every couple of seconds, one of the API key and one of the scope:
core/cache.py), and the front door (core/http.py) sends the cached bytes without the framework's
routing, dependency injection and response machinery (most of a cached GET's CPU time). Anything else
(a cache miss, a missing instance, an unknown key or project, a bad path or header) goes on to the
regular endpoint, which answers exactly as before and fills the caches for the next time.
"""

from __future__ import annotations

import functools
import re

from litestar.types import HTTPScope

from cloudlet.core.auth import api_key_token, principal_of
from cloudlet.core.batching import BatchedLookup
from cloudlet.core.db import Database
from cloudlet.core.scope import scope_of
from cloudlet.instances import repository
from cloudlet.instances.views import cached_rendering, has_rendering

# the route of instances.endpoints.get_instance (Litestar also accepts a trailing slash)
_PATH = re.compile(r"/v1/instances/(\d{1,18})/(\d{1,18})/([^/]+)/?")


class CachedInstanceGet:
    """``await lane(scope)``: the cached answer's body, or None to let the router answer."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # PostgreSQL: concurrent GETs share one query (a round trip each costs more than the lookup);
        # SQLite answers in microseconds on the loop's own thread, with nothing to share
        self._revisions = None if db.is_sqlite else BatchedLookup(functools.partial(repository.current_revisions, db))

    async def __call__(self, scope: HTTPScope) -> bytes | None:
        matched = _PATH.fullmatch(scope["path"])
        if matched is None or scope["query_string"]:
            return None
        token = _api_key(scope)
        if token is None:
            return None
        project_id, region_id, instance_id = int(matched[1]), int(matched[2]), matched[3]
        if not has_rendering(self.db, "detail", instance_id):
            return None  # never rendered here: no lookup could make this answer cheaper than the endpoint's
        try:
            # cached, or looked up once for all the requests that want them (a busy entry expiring)
            principal = await principal_of(self.db, token)
            await scope_of(self.db, principal, project_id, region_id)
            revision = await self._revision(project_id, region_id, instance_id)
        except Exception:  # an unknown key or project, an unreachable database...: the endpoint answers,
            return None  # in the Gcore error shape
        if revision is None:
            return None
        return cached_rendering(self.db, "detail", instance_id, revision)

    async def _revision(self, project_id: int, region_id: int, instance_id: str) -> int | None:
        if self._revisions is None:
            return await repository.current_revision(self.db, project_id, region_id, instance_id)
        found = await self._revisions.get(instance_id)
        return found[2] if found is not None and found[:2] == (project_id, region_id) else None


def _api_key(scope: HTTPScope) -> str | None:
    header = next((value for name, value in scope["headers"] if name == b"authorization"), None)
    return api_key_token(header.decode("latin-1")) if header is not None else None
