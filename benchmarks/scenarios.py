"""One benchmark run: seed the datasets, start every server, measure every case side by side, report.

Everything measured in a run is up at once, and the repeats are interleaved (round 1 measures every
case once, then round 2, ...), so a burst of load from elsewhere on the machine spreads over all
cases instead of sinking one of them; each case reports the median of its repeats.

Cases (c = connections):
- ceiling: the raw granian app answering one instance's JSON, c=32.
- get: ``GET /v1/instances/1/1/{id}`` over 1,000 ids spread through the dataset, c=32.
- list-status: ``?limit=100&status=ACTIVE&order_by=name.asc``; list-name: ``?limit=100&name=web``; c=1.
- create: count-bounded, 16 workers, after the reads; each repeat on a fresh server holding
  ``plan.create_size`` seeded instances.
- peers: moto's ``DescribeInstances`` by id (get), with an ``instance-state-name`` or ``tag:Name``
  filter and a page of 100 instances (lists), ``RunInstances`` + ``DescribeInstances`` (create).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import functools
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from benchmarks import load, report, seed, servers
from benchmarks.plan import Plan
from benchmarks.results import Case, RunResult, Sample
from benchmarks.servers import AUTH, MOTO_AUTH, BenchmarkError, Server

WORK = Path(__file__).resolve().parent / ".work"
INSTANCES = "/v1/instances/1/1"
LIST_QUERIES = {
    "list-status": f"limit=100&status={seed.STATUS_FILTER}&order_by=name.asc",
    "list-name": f"limit=100&name={seed.NAME_FILTER}",
}
MOTO_BATCH = 20  # instances per moto reservation: a page of MaxResults=5 reservations holds 100 instances
EC2 = {"Version": "2016-11-15"}
MOTO_LISTS = {
    "list-status": {"Action": "DescribeInstances", **EC2, "Filter.1.Name": "instance-state-name",
                    "Filter.1.Value.1": "running", "MaxResults": str(100 // MOTO_BATCH)},
    "list-name": {"Action": "DescribeInstances", **EC2, "Filter.1.Name": "tag:Name",
                  "Filter.1.Value.1": f"*{seed.NAME_FILTER}*", "MaxResults": str(100 // MOTO_BATCH)},
}
_MOTO_ID = re.compile(r"<instanceId>(i-[0-9a-f]+)</instanceId>")


@dataclasses.dataclass(slots=True)
class Dataset:
    backend: str
    instances: int
    info: seed.SeedInfo
    server: Server | None = None
    create_round: int | None = None  # None: a dataset for the reads


@dataclasses.dataclass(slots=True)
class MotoDataset:
    instances: int
    server: Server
    create_round: int | None = None
    image_id: str = ""
    instance_ids: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(slots=True)
class Measured:
    case: Case
    target: load.Target
    server: Server


def _log(message: str) -> None:
    print(f"[bench {dt.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# --- answer checks: a fast wrong answer must never pass for a fast right one ------------------------


def _check_status(response: httpx.Response) -> None:
    if response.status_code != 200:
        raise BenchmarkError(f"{response.request.method} {response.request.url} answered {response.status_code}: "
                             f"{response.text[:300]}")


def _check_instance(response: httpx.Response) -> None:
    _check_status(response)
    if response.json().get("id") != response.request.url.path.rsplit("/", 1)[-1]:
        raise BenchmarkError(f"GET {response.request.url} returned another instance")


def _check_list(expected_total: int, predicate: Callable[[dict[str, Any]], bool]) -> Callable[[httpx.Response], None]:
    def check(response: httpx.Response) -> None:
        _check_status(response)
        body = response.json()
        results = body["results"]
        if body["count"] != expected_total or len(results) != min(100, expected_total):
            raise BenchmarkError(f"{response.request.url}: count {body['count']} and {len(results)} results, "
                                 f"expected {expected_total} and {min(100, expected_total)}")
        if not all(predicate(r) for r in results):
            raise BenchmarkError(f"{response.request.url}: a result does not match the filter")
    return check


def _check_moto_get(response: httpx.Response) -> None:
    _check_status(response)
    wanted = dict(httpx.QueryParams(response.request.content.decode()))["InstanceId.1"]
    if _MOTO_ID.findall(response.text) != [wanted]:
        raise BenchmarkError(f"moto DescribeInstances {wanted} returned {_MOTO_ID.findall(response.text)[:3]}")


def _check_moto_page(response: httpx.Response) -> None:
    _check_status(response)
    found = len(_MOTO_ID.findall(response.text))
    if found != 100:
        raise BenchmarkError(f"moto DescribeInstances page holds {found} instances, expected 100")


# --- set-up --------------------------------------------------------------------------------------


def _start_moto_seeding(plan: Plan, stack: contextlib.ExitStack, work: Path) -> tuple[list[MotoDataset],
                                                                                        list[subprocess.Popen[str]]]:
    wanted: list[tuple[int, int | None]] = [(size, None) for size in plan.moto_sizes()]
    if plan.peers:
        wanted += [(plan.create_size, r) for r in range(plan.create_rounds)]
    datasets, seeders = [], []
    for size, create_round in wanted:
        name = f"moto-{size}" if create_round is None else f"moto-{size}-create{create_round + 1}"
        server = stack.enter_context(servers.moto(name, work))
        datasets.append(MotoDataset(size, server, create_round))
        seeder = subprocess.Popen(
            [str(servers.moto_python()), str(Path(__file__).with_name("moto_seed.py")), "--endpoint", server.url,
             "--count", str(size), "--batch", str(MOTO_BATCH)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        stack.callback(_stop, seeder)
        seeders.append(seeder)
    return datasets, seeders


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
        process.communicate()


def _finish_moto_seeding(datasets: list[MotoDataset], seeders: list[subprocess.Popen[str]]) -> None:
    for dataset, seeder in zip(datasets, seeders, strict=True):
        out, err = seeder.communicate(timeout=1800)
        if seeder.returncode != 0:
            raise BenchmarkError(f"seeding moto with {dataset.instances} instances failed:\n{err[-3000:]}")
        data = json.loads(out.strip().splitlines()[-1])
        dataset.image_id, dataset.instance_ids = data["image_id"], data["instance_ids"]
        _log(f"moto seeded with {dataset.instances:,} instances in {data['seconds']} s")


def _seed_cloudlet(plan: Plan, stack: contextlib.ExitStack, work: Path) -> list[Dataset]:
    datasets = []
    for backend in plan.backends:
        wanted: list[tuple[int, int | None]] = [(size, None) for size in plan.sizes_for(backend)]
        wanted += [(plan.create_size, r) for r in range(plan.create_rounds)]
        for size, create_round in wanted:
            label = f"{backend}_{size}" if create_round is None else f"{backend}_{size}_create{create_round + 1}"
            url = stack.enter_context(servers.database(backend, work, label))
            # room on the simulated hosts for the creates (g1-standard-1-2: one vCPU each)
            extra = 0 if create_round is None else plan.creates + plan.create_warmup
            info = asyncio.run(seed.seed_database(url, size, extra_vcpus=extra))
            _log(f"{backend}: seeded {size:,} instances in {info.seconds:.1f} s"
                 + ("" if create_round is None else f" (for create round {create_round + 1})"))
            dataset = Dataset(backend, size, info, create_round=create_round)
            dataset.server = stack.enter_context(servers.cloudlet(
                f"cloudlet-{label}", url, work / label, sim_hosts=info.sim_hosts))
            datasets.append(dataset)
    return datasets


# --- the cases -----------------------------------------------------------------------------------


def _get_requests(ids: list[str]) -> tuple[tuple[str, str, str], ...]:
    return tuple(("GET", f"{INSTANCES}/{i}", "") for i in ids)


def _cases(plan: Plan, datasets: list[Dataset], ceiling: Server | None,
           moto: list[MotoDataset]) -> list[Measured]:
    out: list[Measured] = []
    if ceiling is not None:
        out.append(Measured(
            Case("ceiling", "granian-raw", "", 0, plan.get_concurrency),
            load.Target(ceiling.url, _get_requests(datasets[0].info.sample_ids), AUTH, _check_status), ceiling,
        ))
    for d in datasets:
        if d.create_round is not None:
            continue
        assert d.server is not None
        gets = set(plan.get_sizes) if "get" in plan.scenarios else set()
        lists = set(plan.list_sizes) if "list" in plan.scenarios else set()
        if plan.peers and d.backend in plan.peer_backends:
            gets |= set(plan.peer_sizes)
            lists |= set(plan.peer_sizes)
        if d.instances in gets:
            out.append(Measured(Case("get", "cloudlet", d.backend, d.instances, plan.get_concurrency),
                                load.Target(d.server.url, _get_requests(d.info.sample_ids), AUTH, _check_instance),
                                d.server))
        if d.instances in lists:
            out.append(Measured(
                Case("list-status", "cloudlet", d.backend, d.instances, plan.list_concurrency, items_per_response=100),
                load.Target(d.server.url, (("GET", f"{INSTANCES}?{LIST_QUERIES['list-status']}", ""),), AUTH,
                            _check_list(d.info.status_matches, lambda r: r["status"] == seed.STATUS_FILTER)),
                d.server,
            ))
            out.append(Measured(
                Case("list-name", "cloudlet", d.backend, d.instances, plan.list_concurrency, items_per_response=100),
                load.Target(d.server.url, (("GET", f"{INSTANCES}?{LIST_QUERIES['list-name']}", ""),), AUTH,
                            _check_list(d.info.name_matches, lambda r: seed.NAME_FILTER in r["name"])),
                d.server,
            ))
    for m in moto:
        if m.create_round is not None:
            continue
        ids = m.instance_ids[:: max(1, len(m.instance_ids) // seed.SAMPLE_IDS)]
        out.append(Measured(
            Case("get", "moto", "", m.instances, plan.get_concurrency),
            load.Target(m.server.url, tuple(("POST", "/", urlencode({"Action": "DescribeInstances", **EC2,
                                                                      "InstanceId.1": i})) for i in ids),
                        MOTO_AUTH, _check_moto_get),
            m.server,
        ))
        for scenario, params in MOTO_LISTS.items():
            out.append(Measured(
                Case(scenario, "moto", "", m.instances, plan.list_concurrency, items_per_response=100),
                load.Target(m.server.url, (("POST", "/", urlencode(params)),), MOTO_AUTH, _check_moto_page),
                m.server,
            ))
    return out


def _order(m: Measured) -> tuple[int, int, int, int]:
    """Cases compared with each other run next to each other in a round: the ceiling beside the gets,
    each dataset size beside the others, moto beside cloudlet."""
    scenarios = ("ceiling", "get", "list-status", "list-name")
    subjects = ("granian-raw", "cloudlet", "moto")
    return (scenarios.index(m.case.scenario), subjects.index(m.case.subject),
            ("", "sqlite", "postgres").index(m.case.backend), m.case.instances)


_WARMUP_LIMIT_S = 120.0


def _prepare_case(plan: Plan, m: Measured, work: Path) -> None:
    """Check the answers, pick the loader (wrk unless a request is too slow for it), warm up."""
    m.server.check_alive()
    latency = load.probe(m.target)
    expected = plan.seconds * m.case.concurrency / latency if latency > 0 else float("inf")
    if expected < plan.min_wrk_requests:
        m.case.loader = "python"
        m.case.note = (f"one request takes {latency:.2f} s: wrk would finish ~{expected:.0f} in {plan.seconds:.0f} s, "
                       "so the Python loader measured it (duration-bounded, at least one request)")
        return
    if plan.warmup_seconds <= 0:
        return
    # at least one pass over the prepared requests (the get cases' 1,000 ids), so that the repeats measure
    # the steady state whatever the machine's speed, not the first read of each instance
    sent, started = 0, time.monotonic()
    while True:
        sample = load.run_wrk(m.target, seconds=plan.warmup_seconds, concurrency=m.case.concurrency, work=work)
        if sample.errors:
            raise BenchmarkError(f"{m.case.label}: {sample.errors} errors while warming up")
        sent += sample.requests
        if sent >= len(m.target.requests) or time.monotonic() - started > _WARMUP_LIMIT_S:
            break


def _measure(plan: Plan, m: Measured, work: Path) -> None:
    m.server.check_alive()
    cpu = servers.tree_cpu_seconds(m.server.process.pid)
    if m.case.loader == "python":
        sample = load.run_python(m.target, seconds=plan.seconds, concurrency=m.case.concurrency)
    else:
        sample = load.run_wrk(m.target, seconds=plan.seconds, concurrency=m.case.concurrency, work=work)
    sample.server_cpu_s = servers.tree_cpu_seconds(m.server.process.pid) - cpu
    m.case.samples.append(sample)
    _log(f"  {m.case.label}: {sample.rate:,.0f}/s p50 {sample.p50_ms:.2f} ms p99 {sample.p99_ms:.2f} ms, "
         f"server CPU {sample.server_cpu_s / max(1, sample.requests) * 1e6:,.0f} µs/request"
         + (f" ERRORS {sample.errors}" if sample.errors else ""))


def _shape(value: Any) -> Any:
    """The structure of a JSON value (keys and types), to compare a seeded instance with a created one."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def _essence(instance: dict[str, Any]) -> dict[str, Any]:
    """What a seeded instance and an API-created one must have in common, whatever their names and ids."""
    return {
        "status": instance["status"], "vm_state": instance["vm_state"], "task_state": instance["task_state"],
        "task_id": instance["task_id"], "volumes": len(instance["volumes"]),
        "networks": {net: [a["type"] for a in addrs] for net, addrs in instance["addresses"].items()},
        "external": [f["external"] for f in instance["fixed_ip_assignments"]],
        "security_groups": instance["security_groups"], "tags": sorted(t["key"] for t in instance["tags"]),
        "project_id": instance["project_id"], "region_id": instance["region_id"],
    }


def _compare_seeded_with_created(dataset: Dataset) -> str | None:
    """A seeded instance must look like one the API made (same JSON shape, same essentials); a note if not."""
    assert dataset.server is not None
    with httpx.Client(base_url=dataset.server.url, headers=AUTH, timeout=30) as client:
        seeded = client.get(f"{INSTANCES}/{dataset.info.sample_ids[0]}").json()
        if seeded["status"] != seed.STATUS_FILTER:  # compare with an ACTIVE one, as a create leaves it
            listed = client.get(f"{INSTANCES}?limit=1&status={seed.STATUS_FILTER}").json()["results"]
            seeded = client.get(f"{INSTANCES}/{listed[0]['id']}").json()
        created = client.get(f"{INSTANCES}?limit=1&name=bench-create&order_by=created.desc").json()["results"]
        if not created:
            return f"WARNING ({dataset.backend}): no API-created instance was found to compare the seeded ones with"
        created_full = client.get(f"{INSTANCES}/{created[0]['id']}").json()
    if _shape(seeded) != _shape(created_full) or _essence(seeded) != _essence(created_full):
        return (f"WARNING ({dataset.backend}): seeded instances differ from API-created ones: seeded "
                f"{json.dumps(_essence(seeded))} {json.dumps(_shape(seeded))[:800]} vs created "
                f"{json.dumps(_essence(created_full))} {json.dumps(_shape(created_full))[:800]}")
    return None


def _creates(plan: Plan, datasets: list[Dataset], moto: list[MotoDataset]) -> tuple[list[Case], list[str]]:
    """Count-bounded creates, interleaved like the reads: round r runs every subject on its r-th server."""
    subjects: dict[tuple[str, str], Case] = {}
    runs: list[list[tuple[Case, Server, Callable[..., Sample]]]] = [[] for _ in range(plan.create_rounds)]
    notes: list[str] = []
    for d in datasets:
        if d.create_round is not None and d.server is not None:
            case = subjects.setdefault(("cloudlet", d.backend), Case(
                "create", "cloudlet", d.backend, d.instances, plan.create_workers, loader="python"))
            runs[d.create_round].append((case, d.server, functools.partial(
                load.cloudlet_creates, d.server.url, workers=plan.create_workers, label="bench-create")))
    for m in moto:
        if m.create_round is not None:
            case = subjects.setdefault(("moto", ""), Case(
                "create", "moto", "", m.instances, plan.create_workers, loader="python"))
            runs[m.create_round].append((case, m.server, functools.partial(
                load.moto_creates, m.server.url, image_id=m.image_id, workers=plan.create_workers,
                label="bench-create")))
    for r, round_runs in enumerate(runs):
        _log(f"creates, round {r + 1}/{plan.create_rounds}")
        for case, server, run in round_runs:
            server.check_alive()
            if plan.create_warmup:
                run(count=plan.create_warmup, label="bench-warmup")
            cpu = servers.tree_cpu_seconds(server.process.pid)
            sample = run(count=plan.creates)
            sample.server_cpu_s = servers.tree_cpu_seconds(server.process.pid) - cpu
            case.samples.append(sample)
            _log(f"  {case.label}: {sample.rate:,.0f} ACTIVE/s p50 {sample.p50_ms:.1f} ms, "
                 f"server CPU {sample.server_cpu_s / max(1, sample.requests) * 1e6:,.0f} µs/create"
                 + (f" ERRORS {sample.errors}" if sample.errors else ""))
        if r == 0:
            notes = [n for d in datasets if d.create_round == 0 for n in [_compare_seeded_with_created(d)] if n]
        for _, server, _ in round_runs:  # done with: free its database connections for the next round
            server.stop()
    return list(subjects.values()), notes


# --- the run -------------------------------------------------------------------------------------


def run_plan(plan: Plan, *, keep_work: bool = False) -> RunResult:
    """Run ``plan`` and return its results (render them with ``report.render``)."""
    load.ensure_wrk()
    started = dt.datetime.now(dt.UTC)
    clock = time.monotonic()
    load_before = report.load_average()
    WORK.mkdir(exist_ok=True)
    work = WORK / f"run-{started:%Y%m%d-%H%M%S}-{plan.mode}"
    work.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    failed = True
    try:
        with contextlib.ExitStack() as stack:
            moto, seeders = _start_moto_seeding(plan, stack, work)
            datasets = _seed_cloudlet(plan, stack, work)
            if not datasets:
                raise BenchmarkError("nothing to measure: choose scenarios and backends")
            _finish_moto_seeding(moto, seeders)
            ceiling = None
            reads = [d for d in datasets if d.create_round is None]
            if {"ceiling", "get"} & set(plan.scenarios) and reads and reads[0].server is not None:
                reads[0].server.check_alive()
                body = work / "ceiling-body.json"
                response = httpx.get(f"{reads[0].server.url}{INSTANCES}/{reads[0].info.sample_ids[0]}",
                                     headers=AUTH, timeout=30)
                _check_instance(response)
                body.write_bytes(response.content)
                ceiling = stack.enter_context(servers.ceiling(body, work))
            measured = sorted(_cases(plan, datasets, ceiling, moto), key=_order)
            _log(f"checking and warming up {len(measured)} cases")
            for m in measured:
                _prepare_case(plan, m, work)
            for r in range(plan.repeats):
                _log(f"reads, round {r + 1}/{plan.repeats}")
                # every other round runs backwards, so no case always follows the same neighbour
                for m in measured if r % 2 == 0 else reversed(measured):
                    _measure(plan, m, work)
            cases = [m.case for m in measured]
            # PostgreSQL admits 100 connections: the read servers' pools must not hold theirs through the creates
            for d in reads:
                if d.server is not None:
                    d.server.stop()
            if "create" in plan.scenarios:
                create_cases, create_notes = _creates(plan, datasets, moto)
                cases += create_cases
                notes += create_notes
            notes += [f"{c.label}: {c.note}" for c in cases if c.note]
            versions = report.versions(postgres="postgres" in plan.backends, moto=bool(moto))
        failed = False
    except httpx.HTTPError as exc:
        raise BenchmarkError(f"a server stopped answering ({exc!r}); server logs are kept in {work}") from exc
    finally:
        if failed:
            _log(f"the run failed: server logs (and SQLite databases) are kept in {work}")
        elif not keep_work:
            shutil.rmtree(work, ignore_errors=True)
    finished = dt.datetime.now(dt.UTC)
    machine = report.machine()
    machine["load average before / after"] = f"{load_before} / {report.load_average()}"
    return RunResult(
        mode=plan.mode, started=started.strftime("%Y-%m-%d %H:%M:%S UTC"),
        finished=finished.strftime("%Y-%m-%d %H:%M:%S UTC"), seconds=round(time.monotonic() - clock, 1),
        machine=machine, versions=versions, settings=dataclasses.asdict(plan), cases=cases, notes=notes,
    )
