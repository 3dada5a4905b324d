"""Secrets never leak: passwords, user_data and API tokens appear in no response, no task ``data`` and no log
line of a real ``cloudlet serve`` (debug logging, access log on); API tokens are stored only as hashes.

The secrets travel through the happy paths (creates that finish), the error paths (bodies refused for
other reasons, a failing hypervisor, a wrong token) and every read that could echo them.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import ADMIN_TOKEN, database_url
from tests.reliability.servers import server

UBUNTU = "3a4b3c7e-7a0c-4c51-9f7e-0b6f9d1c0001"
WINDOWS = "3a4b3c7e-7a0c-4c51-9f7e-0b6f9d1c0006"


class Recorder:
    """An httpx client that keeps every response body it saw."""

    def __init__(self, url: str, token: str) -> None:
        self.http = httpx.Client(base_url=url, headers={"Authorization": f"APIKey {token}"}, timeout=30)
        self.bodies: list[str] = []

    def call(self, method: str, path: str, *, expect: int | tuple[int, ...] | None = None, **kwargs: Any) -> Any:
        r = self.http.request(method, path, **kwargs)
        self.bodies.append(f"{method} {path} -> {r.status_code} {r.headers} {r.text}")
        if expect is not None:
            assert r.status_code in ((expect,) if isinstance(expect, int) else expect), f"{path}: {r.text}"
        return r.json() if r.content and r.headers.get("content-type", "").startswith("application/json") else None

    def wait(self, task_id: str) -> dict[str, Any]:
        for _ in range(300):
            task = self.call("GET", f"/v1/tasks/{task_id}", expect=200)
            if task["state"] in ("FINISHED", "ERROR"):
                return task  # type: ignore[no-any-return]
            import time

            time.sleep(0.1)
        raise AssertionError(f"task {task_id} did not end")


def instance(name: str, **extra: Any) -> dict[str, Any]:
    return {"flavor": "g1-standard-1-2", "name": name, "interfaces": [{"type": "external"}],
            "volumes": [{"source": "image", "image_id": UBUNTU, "size": 10}], **extra}


def secret(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url_for_secrets(request: pytest.FixtureRequest) -> Any:
    with database_url(request.param) as url:
        yield url


def test_secrets_never_leak(db_url_for_secrets, tmp_path):
    password, win_password = secret("Pw1"), "Wp1!" + uuid.uuid4().hex[:12]
    weak_password = secret("weak")
    script = f"#!/bin/sh\necho {secret('userdata')}\n"
    user_data = base64.b64encode(script.encode()).decode()
    plain_user_data_marker = script.split("echo ")[1].strip()
    wrong_token = secret("not-a-key")
    secrets: dict[str, str] = {"password": password, "windows password": win_password, "weak password":
                               weak_password, "user_data": user_data, "user_data content": plain_user_data_marker,
                               "wrong token": wrong_token}
    tokens: list[str] = []
    env = {"CLOUDLET_LOG_LEVEL": "debug", "CLOUDLET_SIM_PROFILE": "instant"}
    with server(db_url_for_secrets, tmp_path, env=env, args=("--access-log", "--log-level", "debug")) as srv:
        admin = Recorder(srv.url, ADMIN_TOKEN)
        # API keys of every role; their tokens are shown once, by the create call, and never again
        reseller = admin.call("POST", "/admin/v1/resellers", json={"name": "r"}, expect=200)
        client = admin.call("POST", "/admin/v1/clients", json={"name": "c", "reseller_id": reseller["id"]},
                            expect=200)
        made_keys = []
        for body in ({"name": "a", "role": "admin"}, {"name": "r", "role": "reseller", "reseller_id": reseller["id"]},
                     {"name": "c", "role": "client", "client_id": client["id"]}):
            key = admin.call("POST", "/admin/v1/api_keys", json=body, expect=200)
            made_keys.append(key)
            tokens.append(key["token"])
        shown_once = list(admin.bodies)
        admin.bodies.clear()
        client_key = Recorder(srv.url, tokens[2])
        project = client_key.call("POST", "/v1/projects", json={"name": "secret-project"}, expect=200)["id"]
        base = f"{project}/1"
        # creates that finish, with a password and user_data, on Linux and Windows
        task = client_key.call("POST", f"/v2/instances/{base}", json=instance(
            "linux-vm", password=password, username="deploy", user_data=user_data), expect=200)["tasks"][0]
        linux = client_key.wait(task)["created_resources"]["instances"][0]
        task = client_key.call("POST", f"/v2/instances/{base}", json=instance(
            "win-vm", password=win_password, flavor="g1w-standard-4-8",
            volumes=[{"source": "image", "image_id": WINDOWS, "size": 50}]), expect=200)["tasks"][0]
        assert client_key.wait(task)["state"] == "FINISHED"
        # a create that fails on the hypervisor, and creates refused for other reasons, carrying the secrets
        admin.call("POST", "/admin/v1/faults", json={"operation": "create_vm", "mode": "once"}, expect=200)
        task = client_key.call("POST", f"/v2/instances/{base}", json=instance(
            "doomed-vm", password=password, user_data=user_data), expect=200)["tasks"][0]
        assert client_key.wait(task)["state"] == "ERROR"
        client_key.call("POST", f"/v2/instances/{base}", json=instance("bad", password=weak_password,
                                                                       flavor="no-such-flavor"), expect=(400, 404))
        client_key.call("POST", f"/v2/instances/{base}", json=instance(
            "win-2", password=weak_password, flavor="g1w-standard-4-8", username="admin",
            volumes=[{"source": "image", "image_id": WINDOWS, "size": 50}]), expect=400)
        client_key.call("POST", f"/v2/instances/{base}", json=instance(
            "x" * 300, password=password, user_data=user_data), expect=400)
        client_key.call("POST", f"/v2/instances/{base}", json={**instance("bad-ud"), "user_data": 12,
                                                              "password": password}, expect=400)
        client_key.call("POST", f"/v2/instances/{base}", json=instance("dup", password=password,
                                                                       username="Not Valid!"), expect=400)
        # every read that could echo them
        client_key.call("GET", f"/v1/instances/{base}", expect=200)
        client_key.call("GET", f"/v1/instances/{base}/{linux}", expect=200)
        client_key.call("GET", f"/v1/instances/{base}/{linux}/metadata", expect=200)
        client_key.call("GET", f"/v1/instances/{base}/{linux}/interfaces", expect=200)
        client_key.call("GET", f"/v1/instances/{base}/{linux}/get_console", expect=200)
        listed = client_key.call("GET", "/v1/tasks", params={"limit": 1000}, expect=200)
        for item in listed["results"]:
            client_key.call("GET", f"/v1/tasks/{item['id']}", expect=200)
        admin.call("GET", "/v1/tasks", params={"limit": 1000}, expect=200)
        admin.call("GET", "/admin/v1/api_keys", params={"limit": 1000}, expect=200)
        for key in made_keys:
            admin.call("GET", f"/admin/v1/api_keys/{key['id']}", expect=(200, 404, 405))
        admin.call("GET", "/v1/instances/search", params={"name": "vm"}, expect=200)
        # the other keys at work, and a wrong one
        Recorder(srv.url, tokens[0]).call("GET", "/v1/regions", expect=200)
        Recorder(srv.url, tokens[1]).call("GET", "/v1/instances/search", params={"name": "vm"}, expect=200)
        wrong = Recorder(srv.url, wrong_token)
        wrong.call("GET", "/v1/regions", expect=401)
        admin.call("DELETE", f"/v1/instances/{base}/{linux}", expect=200)

        task_data = [str(t.get("data")) for t in listed["results"]]
        assert any("instance_id" in d for d in task_data), "the tasks' data was read"
        responses = admin.bodies + client_key.bodies + wrong.bodies
        stored = _stored(db_url_for_secrets)
    log = srv.log.read_text()
    assert '"POST /v2/instances/' in log and "task.failed" in log, "the access log and the task log were captured"
    everything = {**secrets, **{f"token {i}": t for i, t in enumerate(tokens)}, "admin token": ADMIN_TOKEN}
    leaks = []
    for label, value in everything.items():
        for where, text in (("a response", "\n".join(responses)), ("task data", "\n".join(task_data)),
                            ("the log", log), ("the database", stored["text"])):
            if label == "wrong token" and where == "a response":
                continue  # 401 names the first characters of the token the caller sent
            if value in text:
                leaks.append(f"{label} in {where}")
    assert not leaks, leaks
    # tokens appear once, in the response that made them
    for token in tokens:
        assert sum(token in body for body in shown_once) == 1
    # the api_keys table holds SHA-256 hashes only
    hashes = set(stored["key_hashes"])
    for token in [*tokens, ADMIN_TOKEN]:
        assert hashlib.sha256(token.encode()).hexdigest() in hashes
    # boot secrets are dropped once the instance is built
    assert stored["boot_secrets"] == [], stored["boot_secrets"]


def _stored(url: str) -> dict[str, Any]:
    """Every row of every table as text, the api_keys hashes, and instances still holding boot secrets (a JSON
    null is no secret)."""
    from cloudlet.models import api_keys, instances, metadata

    if url.startswith("postgresql"):
        import asyncio

        return asyncio.run(_stored_pg(url))
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        text = "\n".join(str(tuple(row)) for t in metadata.sorted_tables for row in conn.execute(sa.select(t)))
        hashes = [r[0] for r in conn.execute(sa.select(api_keys.c.token_hash))]
        boot = [r.id for r in conn.execute(sa.select(instances.c.id, instances.c.boot_secrets)) if r.boot_secrets]
    engine.dispose()
    return {"text": text, "key_hashes": hashes, "boot_secrets": boot}


async def _stored_pg(url: str) -> dict[str, Any]:
    from sqlalchemy.ext.asyncio import create_async_engine

    from cloudlet.models import api_keys, instances, metadata

    engine = create_async_engine(url)
    async with engine.connect() as conn:
        rows = []
        for t in metadata.sorted_tables:
            rows += [str(tuple(row)) for row in await conn.execute(sa.select(t))]
        hashes = [r[0] for r in await conn.execute(sa.select(api_keys.c.token_hash))]
        boot = [r.id for r in await conn.execute(sa.select(instances.c.id, instances.c.boot_secrets))
                if r.boot_secrets]
    await engine.dispose()
    return {"text": "\n".join(rows), "key_hashes": hashes, "boot_secrets": boot}
