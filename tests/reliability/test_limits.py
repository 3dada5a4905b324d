"""Request limits: body size (413), per-key rate limit (429 + Retry-After), and a bounded ``limit`` on every list."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from cloudlet.config import Settings
from cloudlet.core.http import DEFAULT_MAX_BODY_BYTES, GcoreFrontDoor, RateLimit, TokenBuckets
from tests.conftest import ADMIN_TOKEN

HEADERS = {"Authorization": f"APIKey {ADMIN_TOKEN}"}
GCORE_ERROR_KEYS = {"exception_class", "message", "request_id"}


def client_for(asgi: Any, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://cloudlet.test",
                             headers=HEADERS if headers is None else headers, timeout=30)


@pytest.fixture
async def small_bodies(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The session's app behind a front door that takes bodies of at most 2 KiB."""
    async with client_for(GcoreFrontDoor(app.app, max_body_bytes=2048)) as c:
        yield c


def volume_body(padding: int) -> dict[str, Any]:
    return {"source": "new-volume", "name": "v", "size": 1, "metadata": {"pad": "x" * padding}}


class TestBodySize:
    async def test_default_limit_is_one_mebibyte(self, client, project_id):
        assert Settings().max_body_bytes == DEFAULT_MAX_BODY_BYTES == 1024 * 1024
        r = await client.post(f"/v1/volumes/{project_id}/1", json=volume_body(DEFAULT_MAX_BODY_BYTES))
        assert r.status_code == 413
        assert GCORE_ERROR_KEYS <= r.json().keys() and r.json()["request_id"] == r.headers["x-request-id"]
        assert (await client.get(f"/v1/volumes/{project_id}/1")).json()["count"] == 0

    async def test_a_body_under_the_limit_passes(self, small_bodies, project_id):
        r = await small_bodies.post(f"/v1/ssh_keys/{project_id}", json={"name": "small-key", "generate_key": True})
        assert r.status_code == 200, r.text

    async def test_declared_length_over_the_limit_is_413_before_reading(self, small_bodies, project_id):
        r = await small_bodies.post(f"/v1/volumes/{project_id}/1", json=volume_body(4096))
        assert r.status_code == 413
        body = r.json()
        assert body["exception_class"] == "HTTPError" and "2048 bytes" in body["message"]

    async def test_chunked_body_over_the_limit_is_413(self, small_bodies, project_id):
        read = []

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(1000):  # 1 MB offered; the front door stops reading after 2 KiB
                read.append(1)
                yield b"x" * 1000

        r = await small_bodies.post(f"/v1/volumes/{project_id}/1", content=chunks(),
                                    headers={**HEADERS, "content-type": "application/json"})
        assert r.status_code == 413
        assert "2048 bytes" in r.json()["message"]
        assert len(read) < 10

    async def test_chunked_body_under_the_limit_is_handed_on(self, small_bodies, project_id):
        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"name": "chunked-key", '
            yield b'"generate_key": true}'

        r = await small_bodies.post(f"/v1/ssh_keys/{project_id}", content=chunks(),
                                    headers={**HEADERS, "content-type": "application/json"})
        assert r.status_code == 200, r.text
        assert r.json()["name"] == "chunked-key"

    async def test_malformed_content_length_is_400(self, small_bodies, project_id):
        r = await small_bodies.post(f"/v1/ssh_keys/{project_id}", content=b"{}",
                                    headers={**HEADERS, "content-length": "abc"})
        assert r.status_code == 400 and r.json()["exception_class"] == "ValidationError"

    def test_setting_comes_from_the_environment(self):
        assert Settings.from_env({"CLOUDLET_MAX_BODY_BYTES": "4096"}).max_body_bytes == 4096
        with pytest.raises(ValueError, match="CLOUDLET_MAX_BODY_BYTES"):
            Settings.from_env({"CLOUDLET_MAX_BODY_BYTES": "10"})


class TestRateLimit:
    def test_off_by_default(self):
        assert Settings.from_env({}).rate_limit is None
        assert Settings.from_env({"CLOUDLET_RATE_LIMIT": "off"}).rate_limit is None

    @pytest.mark.parametrize("spec, requests, period", [("50/s", 50, 1), ("600/m", 600, 60), ("10000/h", 10000, 3600),
                                                         ("5/sec", 5, 1)])
    def test_spec(self, spec, requests, period):
        assert RateLimit.parse(spec) == RateLimit(requests, period)
        assert Settings.from_env({"CLOUDLET_RATE_LIMIT": spec}).rate_limit == spec

    @pytest.mark.parametrize("spec", ["50", "0/s", "x/s", "5/d", "-1/m"])
    def test_bad_spec_is_refused(self, spec):
        with pytest.raises(ValueError, match="CLOUDLET_RATE_LIMIT"):
            Settings.from_env({"CLOUDLET_RATE_LIMIT": spec})

    def test_bucket_refills_at_the_rate(self):
        now = [100.0]
        buckets = TokenBuckets(RateLimit(2, 1.0), clock=lambda: now[0])
        assert buckets.take(1) == 0 and buckets.take(1) == 0
        assert buckets.take(1) == pytest.approx(0.5)
        assert buckets.take(2) == 0  # another caller has its own bucket
        now[0] += 0.5
        assert buckets.take(1) == 0
        assert buckets.take(1) > 0

    def test_idle_callers_are_forgotten(self):
        now = [0.0]
        buckets = TokenBuckets(RateLimit(1, 1.0), clock=lambda: now[0])
        buckets.MAX_CALLERS = 3  # type: ignore[misc]
        for caller in range(3):
            buckets.take(caller)
        now[0] += 5
        buckets.take(99)
        assert set(buckets.buckets) == {99}

    async def test_429_with_retry_after_per_key(self, app, client, project_id):
        limited = GcoreFrontDoor(app.app, rate_limit=RateLimit(3, 60))
        other = (await client.post("/admin/v1/api_keys", json={"name": "rate", "role": "admin"})).json()["token"]
        async with client_for(limited) as c:
            answers = [(await c.get(f"/v1/volumes/{project_id}/1")).status_code for _ in range(4)]
            assert answers == [200, 200, 200, 429]
            r = await c.get(f"/v1/volumes/{project_id}/1")
            assert r.status_code == 429
            assert r.json()["exception_class"] == "RateLimitedError" and GCORE_ERROR_KEYS <= r.json().keys()
            assert 1 <= int(r.headers["retry-after"]) <= 20
            # another key still has its whole burst
            r = await c.get(f"/v1/volumes/{project_id}/1", headers={"Authorization": f"APIKey {other}"})
            assert r.status_code == 200

    async def test_wired_from_settings(self, db_url, tmp_path):
        from cloudlet.app import create_app

        front = create_app(Settings(data_dir=tmp_path, database_url=db_url, rate_limit="7/m",
                                    max_body_bytes=4096), run_workers=False)
        assert front.max_body_bytes == 4096 and front.buckets.capacity == 7
        assert create_app(Settings(data_dir=tmp_path, database_url=db_url), run_workers=False).buckets is None


# --- every list has a bounded limit ---------------------------------------------------------------


def list_routes(openapi: dict[str, Any]) -> list[str]:
    """Every GET path of the OpenAPI that takes a ``limit`` query parameter (once, without ``/cloud``)."""
    out = []
    for path, item in openapi["paths"].items():
        params = (item.get("get") or {}).get("parameters", [])
        if any(p["name"] == "limit" and p["in"] == "query" for p in params):
            out.append(path)
    return sorted(out)


def fill(path: str, project_id: int, instance_id: str) -> str:
    values = {"project_id": project_id, "region_id": 1, "instance_id": instance_id, "client_id": 1}
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)


class TestBoundedLimit:
    async def test_every_list_refuses_a_huge_limit(self, client, project_id):
        from tests.api.tenancy.helpers import REGION, UBUNTU

        openapi = (await client.get("/openapi.json")).json()
        routes = list_routes(openapi)
        assert len(routes) >= 15, routes
        r = await client.post(f"/v2/instances/{project_id}/{REGION}", json={
            "flavor": "g1-standard-1-2", "interfaces": [{"type": "external"}], "name": "limits",
            "volumes": [{"source": "image", "image_id": UBUNTU, "size": 10}]})
        task = (await client.get(f"/v1/tasks/{r.json()['tasks'][0]}")).json()
        instance_id = task["created_resources"]["instances"][0]
        unbounded = []
        try:
            for path in routes:
                url = fill(path, project_id, instance_id)
                r = await client.get(url, params={"limit": 100000})
                if r.status_code != 400 or "limit" not in r.json().get("invalid_fields", {}):
                    unbounded.append(f"{path}: {r.status_code} {r.text[:200]}")
                assert (await client.get(url, params={"limit": 1})).status_code == 200, url
        finally:
            await client.delete(f"/v1/instances/{project_id}/{REGION}/{instance_id}")
        assert not unbounded, "\n".join(unbounded)
