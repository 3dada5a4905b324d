"""Chaos: a real cloudlet under load is SIGKILLed at random moments, restarted, and must come back whole.

Each run (one seed, one backend): start ``cloudlet serve`` (``fast`` profile, 2 s task leases; on PostgreSQL
also a separate ``cloudlet worker``); 50 creates from 10 threads at once (external, private-subnet and
floating-IP interfaces, some with an extra volume), each followed by an action and, for some, a delete;
meanwhile kill the API process (and on PostgreSQL the worker, or both) with SIGKILL at random moments and
restart it. When the load is done and every task has ended, check against the database itself:

1. every task is terminal (FINISHED or ERROR);
2. no instance is in a transitional state or locked;
3. no lock is left on any row (no ``task_id`` set anywhere);
4. no orphan: every port belongs to an existing instance (or is a reserved IP), every IP allocation to an
   existing port or floating IP, every volume and floating IP to an existing instance;
5. no duplicate: one instance per create, the ports and volumes it asked for and no more, unique IPs;
6. no lost or undone work: an accepted create that FINISHED left its instance (unless a FINISHED delete
   removed it), one that ended in ERROR left nothing, an accepted delete that FINISHED removed it;
7. quota usage (``GET /v2/regional_quotas``) equals what exists.

Seeds: ``CLOUDLET_CHAOS_SEEDS`` (default 3) per backend; ``CLOUDLET_CHAOS_SEED_BASE`` shifts them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import os
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import ADMIN_TOKEN, _free_port, database_url
from tests.reliability.figures import FIGURES
from tests.reliability.servers import Process, start_server, start_worker

SEEDS = int(os.environ.get("CLOUDLET_CHAOS_SEEDS", "3"))
SEED_BASE = int(os.environ.get("CLOUDLET_CHAOS_SEED_BASE", "1"))
CREATES = 50
THREADS = 10
UBUNTU = "3a4b3c7e-7a0c-4c51-9f7e-0b6f9d1c0001"
HEADERS = {"Authorization": f"APIKey {ADMIN_TOKEN}"}
ENV = {"CLOUDLET_SIM_PROFILE": "fast", "CLOUDLET_TASK_LEASE_SECONDS": "2"}
SETTLED = {"ACTIVE", "SHUTOFF", "SUSPENDED", "ERROR"}


@dataclasses.dataclass
class Ledger:
    """What the clients were told: the task ids the API accepted, by kind."""

    creates: dict[str, str] = dataclasses.field(default_factory=dict)  # task id -> instance name
    deletes: dict[str, str] = dataclasses.field(default_factory=dict)  # task id -> instance id
    actions: list[str] = dataclasses.field(default_factory=list)
    unknown: int = 0  # mutations whose answer was lost to a kill
    lost_deletes: set[str] = dataclasses.field(default_factory=set)  # instances whose DELETE answer was lost
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)


class Cluster:
    """The processes of one run, restartable on the same port."""

    def __init__(self, backend: str, url: str, data_dir: Path) -> None:
        self.backend, self.db_url, self.data_dir = backend, url, data_dir
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.api: Process | None = None
        self.worker: Process | None = None
        self.restarts = 0

    def start_api(self) -> None:
        self.api = start_server(self.db_url, self.data_dir, env=ENV, port=self.port, log_name="api.log")

    def start_worker(self) -> None:
        if self.backend == "postgres":
            self.worker = start_worker(self.db_url, self.data_dir, env=ENV, concurrency=4, log_name="worker.log")

    def kill(self, target: str) -> None:
        if target in ("api", "both") and self.api is not None:
            self.api.kill()
        if target in ("worker", "both") and self.worker is not None:
            self.worker.kill()
        FIGURES["chaos faults injected (SIGKILL)"] += 2 if target == "both" and self.worker else 1

    def restart(self, target: str) -> None:
        if target in ("worker", "both"):
            self.start_worker()
        if target in ("api", "both"):
            self.start_api()
        self.restarts += 1

    def stop(self) -> None:
        for proc in (self.api, self.worker):
            if proc is not None:
                proc.stop()


# --- the load ------------------------------------------------------------------------------------


class Down(Exception):
    """The API did not answer (it was being killed)."""


def request(http: httpx.Client, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """Send once the API listens (a refused connection sent nothing, so it is safe to try again); ``Down`` if the
    request may have reached a process that was then killed."""
    for _ in range(300):
        try:
            return http.request(method, path, **kwargs)
        except httpx.ConnectError:
            time.sleep(0.1)
        except httpx.TransportError as exc:
            raise Down(str(exc)) from exc
    raise AssertionError(f"{method} {path}: the API did not come back")


def read(http: httpx.Client, path: str, deadline: float, **kwargs: Any) -> Any:
    """A GET, retried while the API is down."""
    while True:
        try:
            r = request(http, "GET", path, **kwargs)
            if r.status_code < 500:
                return r
        except Down:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"GET {path}: the API did not come back")
        time.sleep(0.2)


def wait_task(http: httpx.Client, task_id: str, deadline: float) -> dict[str, Any]:
    while True:
        task = read(http, f"/v1/tasks/{task_id}", deadline).json()
        if task["state"] in ("FINISHED", "ERROR"):
            return task  # type: ignore[no-any-return]
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task_id} still {task['state']}")
        time.sleep(0.2)


def create_body(n: int, network: str, subnet: str) -> dict[str, Any]:
    interfaces: list[dict[str, Any]] = [{"type": "external"}]
    if n % 3 == 1:
        interfaces.append({"type": "subnet", "network_id": network, "subnet_id": subnet})
    elif n % 3 == 2:
        interfaces.append({"type": "subnet", "network_id": network, "subnet_id": subnet,
                           "floating_ip": {"source": "new"}})
    volumes: list[dict[str, Any]] = [{"source": "image", "image_id": UBUNTU, "size": 5,
                                      "delete_on_termination": True}]
    if n % 4 == 0:
        volumes.append({"source": "new-volume", "size": 1, "delete_on_termination": True})
    return {"flavor": "g1-standard-1-2", "name": f"chaos-{n:03d}", "interfaces": interfaces, "volumes": volumes}


def expected_shape(name: str) -> tuple[int, int, int]:
    """(ports, volumes, floating IPs) that instance ``name`` asked for."""
    n = int(name.rsplit("-", 1)[1])
    return (1 if n % 3 == 0 else 2), (2 if n % 4 == 0 else 1), (1 if n % 3 == 2 else 0)


def drive(http: httpx.Client, n: int, project: int, network: str, subnet: str, ledger: Ledger,
          deadline: float, rng: random.Random) -> None:
    """One client's life: create, wait, act, maybe delete. A mutation whose answer is lost is not retried."""
    base = f"/v2/instances/{project}/1"
    try:
        r = request(http, "POST", base, json=create_body(n, network, subnet))
    except Down:
        with ledger.lock:
            ledger.unknown += 1
        return
    assert r.status_code == 200, r.text
    (task_id,) = r.json()["tasks"]
    with ledger.lock:
        ledger.creates[task_id] = f"chaos-{n:03d}"
    task = wait_task(http, task_id, deadline)
    if task["state"] != "FINISHED":
        return
    instance = task["created_resources"]["instances"][0]
    action = rng.choice(["reboot", "stop", "reboot_hard", "suspend"])
    for _ in range(50):
        try:
            r = request(http, "POST", f"{base}/{instance}/action", json={"action": action})
        except Down:
            with ledger.lock:
                ledger.unknown += 1
            break
        if r.status_code == 200:
            with ledger.lock:
                ledger.actions.append(r.json()["tasks"][0])
            wait_task(http, r.json()["tasks"][0], deadline)
            break
        assert r.status_code == 409, r.text
        time.sleep(0.3)
    if n % 3 == 0:
        return
    for _ in range(50):
        try:
            r = request(http, "DELETE", f"/v1/instances/{project}/1/{instance}", params={"delete_floatings": "true"})
        except Down:
            with ledger.lock:
                ledger.unknown += 1
                ledger.lost_deletes.add(instance)
            return
        if r.status_code == 200:
            with ledger.lock:
                ledger.deletes[r.json()["tasks"][0]] = instance
            return
        assert r.status_code == 409, r.text
        time.sleep(0.3)


def chaos_monkey(cluster: Cluster, rng: random.Random, stop: threading.Event, errors: list[BaseException]) -> None:
    """Two kills at random moments of the load, each followed by a restart."""
    try:
        moments = sorted(rng.uniform(0.5, 7.0) for _ in range(2))
        started = time.monotonic()
        for moment in moments:
            if stop.wait(max(0.0, started + moment - time.monotonic())):
                return
            target = "api" if cluster.backend == "sqlite" else rng.choice(["api", "worker", "both"])
            cluster.kill(target)
            time.sleep(rng.uniform(0.1, 1.0))
            cluster.restart(target)
    except BaseException as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)


# --- the invariants ------------------------------------------------------------------------------


def snapshot(url: str) -> dict[str, list[Any]]:
    """Every row of the tables the invariants look at (read straight from the database)."""
    from cloudlet.models import metadata

    names = ["tasks", "instances", "volumes", "ports", "ip_allocations", "floating_ips", "networks", "projects"]
    if url.startswith("sqlite"):
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            out = {name: [row._mapping for row in conn.execute(sa.select(metadata.tables[name]))] for name in names}
            out["locked"] = _locked_rows_sync(conn)
        engine.dispose()
        return out

    async def run() -> dict[str, list[Any]]:
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(url)
        async with engine.connect() as conn:
            out = {name: [row._mapping for row in await conn.execute(sa.select(metadata.tables[name]))]
                   for name in names}
            out["locked"] = []
            for table in metadata.sorted_tables:
                if "task_id" in table.c:
                    out["locked"] += [(table.name, r[0]) for r in await conn.execute(
                        sa.select(table.c[next(iter(table.primary_key.columns)).name])
                        .where(table.c.task_id.is_not(None)))]
        await engine.dispose()
        return out

    return asyncio.run(run())


def _locked_rows_sync(conn: Any) -> list[tuple[str, Any]]:
    from cloudlet.models import metadata

    locked = []
    for table in metadata.sorted_tables:
        if "task_id" in table.c:
            key = next(iter(table.primary_key.columns))
            locked += [(table.name, r[0]) for r in conn.execute(sa.select(key).where(table.c.task_id.is_not(None)))]
    return locked


class Invariants:
    def __init__(self) -> None:
        self.failures: list[str] = []
        self.checked = 0

    def check(self, name: str, ok: bool, detail: Any = "") -> None:
        self.checked += 1
        if not ok:
            self.failures.append(f"{name}: {detail}")


def check_invariants(db: dict[str, list[Any]], project: int, ledger: Ledger, quotas: dict[str, int]) -> Invariants:
    inv = Invariants()
    tasks = {t["id"]: t for t in db["tasks"]}
    instances = {i["id"]: i for i in db["instances"] if i["project_id"] == project}
    ports = [p for p in db["ports"] if p["project_id"] == project]
    port_ids = {p["id"] for p in db["ports"]}
    fips = [f for f in db["floating_ips"] if f["project_id"] == project]
    fip_ids = {f["id"] for f in db["floating_ips"]}
    volumes = [v for v in db["volumes"] if v["project_id"] == project]
    external = {n["id"] for n in db["networks"] if n["external"]}

    # 1. every task terminal
    for t in tasks.values():
        inv.check("task terminal", t["state"] in ("FINISHED", "ERROR"), (t["id"], t["task_type"], t["state"]))
    # 2. no instance transitional or locked
    for i in instances.values():
        inv.check("instance settled", i["status"] in SETTLED and i["task_state"] is None and i["task_id"] is None,
                  (i["name"], i["status"], i["vm_state"], i["task_state"], i["task_id"]))
    # 3. no lock anywhere
    inv.check("no lock left", not db["locked"], db["locked"][:10])
    # 4. no orphans
    for p in ports:
        inv.check("port owned", p["instance_id"] in instances or (p["instance_id"] is None and p["reserved"]),
                  (p["id"], p["instance_id"]))
    for a in db["ip_allocations"]:
        inv.check("IP owned", (a["port_id"] is not None and a["port_id"] in port_ids)
                  or (a["floatingip_id"] is not None and a["floatingip_id"] in fip_ids), dict(a))
    for v in volumes:
        inv.check("volume owned", v["instance_id"] in instances, (v["id"], v["name"], v["instance_id"]))
    ports_by_id = {p["id"]: p for p in ports}
    for f in fips:
        inv.check("floating IP owned", f["port_id"] in ports_by_id, (f["id"], f["port_id"]))
    # 5. no duplicates: one instance per name, the shape each asked for
    names = [i["name"] for i in instances.values()]
    inv.check("one instance per create", len(names) == len(set(names)),
              sorted(n for n in names if names.count(n) > 1))
    for i in instances.values():
        want_ports, want_volumes, want_fips = expected_shape(i["name"])
        own_ports = [p for p in ports if p["instance_id"] == i["id"]]
        own_fips = [f for f in fips if f["port_id"] in {p["id"] for p in own_ports}]
        shape = (len(own_ports), sum(1 for v in volumes if v["instance_id"] == i["id"]), len(own_fips))
        inv.check("instance shape", shape == (want_ports, want_volumes, want_fips),
                  (i["name"], shape, (want_ports, want_volumes, want_fips)))
        inv.check("one external port", sum(1 for p in own_ports if p["network_id"] in external) == 1,
                  i["name"])
    addresses = [(a["subnet_id"], a["ip_address"]) for a in db["ip_allocations"]]
    inv.check("unique IPs", len(addresses) == len(set(addresses)))
    # 6. no lost or undone work
    deleted = {instance for task_id, instance in ledger.deletes.items() if tasks[task_id]["state"] == "FINISHED"}
    # a DELETE whose answer a kill lost may have been committed all the same: then its task says so
    deleted |= {t["resource_id"] for t in tasks.values() if t["task_type"] == "delete_vm" and t["state"] == "FINISHED"
                and t["resource_id"] in ledger.lost_deletes}
    for task_id, name in ledger.creates.items():
        task = tasks.get(task_id)
        inv.check("accepted create recorded", task is not None, task_id)
        if task is None:
            continue
        made = (task["created_resources"] or {}).get("instances", [])
        if task["state"] == "FINISHED":
            inv.check("finished create made one instance", len(made) == 1, dict(task))
            for instance_id in made:
                inv.check("instance kept unless deleted", (instance_id in instances) != (instance_id in deleted),
                          (name, instance_id))
        else:
            inv.check("failed create left nothing", not any(i["name"] == name for i in instances.values()),
                      (name, task["error"]))
    for task_id in ledger.actions:
        inv.check("accepted action recorded", task_id in tasks, task_id)
    # 7. quota usage equals what exists
    exists = {
        "vm_count_usage": len(instances),
        "cpu_count_usage": sum(i["vcpus"] for i in instances.values()),
        "ram_usage": sum(i["ram"] for i in instances.values()),
        "volume_count_usage": len(volumes),
        "volume_size_usage": sum(v["size"] for v in volumes),
        "external_ip_count_usage": sum(1 for p in ports if p["network_id"] in external),
        "floating_count_usage": len(fips),
    }
    for key, value in exists.items():
        if key in quotas:
            inv.check("quota usage", quotas[key] == value, (key, quotas[key], value))
    return inv


# --- the test ------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def chaos_db(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    with database_url(request.param) as url:
        yield request.param, url


@pytest.mark.parametrize("seed", range(SEED_BASE, SEED_BASE + SEEDS))
def test_crashes_lose_nothing(chaos_db, seed, tmp_path):
    backend, url = chaos_db
    rng = random.Random(seed)
    cluster = Cluster(backend, url, tmp_path)
    cluster.start_api()
    cluster.start_worker()
    try:
        with httpx.Client(base_url=cluster.base, headers=HEADERS, timeout=30) as admin:
            deadline = time.monotonic() + 150
            made = admin.post("/admin/v1/clients", json={"name": f"chaos-{seed}"}).json()
            key = admin.post("/admin/v1/api_keys", json={"name": "chaos", "role": "client",
                                                         "client_id": made["id"]}).json()
            assert admin.put(f"/admin/v1/regional_quotas/{made['id']}/1", json={
                "vm_count_limit": 1000, "cpu_count_limit": 1000, "ram_limit": 10**7, "volume_count_limit": 1000,
                "volume_size_limit": 10**6, "external_ip_count_limit": 1000, "floating_count_limit": 1000}
            ).status_code == 200
            headers = {"Authorization": f"APIKey {key['token']}"}
            clients = [httpx.Client(base_url=cluster.base, headers=headers, timeout=30) for _ in range(THREADS)]
            http = clients[0]
            project = http.post("/v1/projects", json={"name": f"chaos-{seed}"}).json()["id"]
            net_task = http.post(f"/v1/networks/{project}/1", json={"name": "chaos"}).json()["tasks"][0]
            network = wait_task(http, net_task, deadline)["created_resources"]["networks"][0]
            sub_task = http.post(f"/v1/subnets/{project}/1", json={"name": "chaos", "network_id": network,
                                                                   "cidr": "10.50.0.0/24"}).json()["tasks"][0]
            subnet = wait_task(http, sub_task, deadline)["created_resources"]["subnets"][0]

            ledger, stop, errors = Ledger(), threading.Event(), []
            monkey = threading.Thread(target=chaos_monkey, args=(cluster, rng, stop, errors), daemon=True)
            rngs = [random.Random(rng.random()) for _ in range(CREATES)]
            monkey.start()
            with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
                futures = [pool.submit(drive, clients[n % THREADS], n, project, network, subnet, ledger, deadline,
                                       rngs[n]) for n in range(CREATES)]
                for future in futures:
                    future.result()
            stop.set()
            monkey.join()
            assert not errors, errors
            # whatever was running when the last process died ends once the leases expire
            while read(http, f"/v1/tasks/{project}/1/active", deadline).json()["count"] or \
                    read(admin, "/v1/tasks", deadline, params={"state": ["NEW", "RUNNING"]}).json()["count"]:
                assert time.monotonic() < deadline, "tasks still running"
                time.sleep(0.3)
            quotas = read(admin, f"/v2/regional_quotas/{made['id']}/1", deadline).json()
            db = snapshot(url)
            for c in clients:
                c.close()
        inv = check_invariants(db, project, ledger, quotas)
        FIGURES["chaos runs"] += 1
        FIGURES["chaos invariants checked"] += inv.checked
        FIGURES["chaos operations accepted"] += len(ledger.creates) + len(ledger.actions) + len(ledger.deletes)
        FIGURES["chaos tasks resumed after a kill"] += sum(1 for t in db["tasks"] if (t["attempts"] or 0) > 1)
        assert cluster.restarts >= 1
        assert not inv.failures, f"seed {seed}: {len(inv.failures)} of {inv.checked} checks failed:\n" + \
            "\n".join(inv.failures[:40])
        assert len(ledger.creates) >= CREATES // 2, f"too few creates were accepted: {len(ledger.creates)}"
    finally:
        with contextlib.suppress(Exception):
            cluster.stop()
