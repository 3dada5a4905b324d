"""RESULTS.md: the machine and versions, one table per scenario, ratios, and the targets with PASS/FAIL."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.metadata
import os
import platform
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.results import Case, RunResult

REPO = Path(__file__).resolve().parent.parent
LOG_HEADING = "## Optimisation log"
LOG_PLACEHOLDER = ("- _(placeholder: the lead records each optimisation here with its before/after numbers; "
                   "the harness keeps this section when it rewrites the file)_\n")


# --- what the run ran on -------------------------------------------------------------------------


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def machine() -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return {"cores (nproc)": str(os.cpu_count()), "memory": memory, "CPU": cpu,
            "OS": f"{platform.system()} {platform.release()}"}


def _git_sha() -> str:
    try:
        sha = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return f"{sha} (with uncommitted changes)" if dirty else sha


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def versions(*, postgres: bool, moto: bool) -> dict[str, str]:
    from benchmarks import load, servers

    out = {
        "python": platform.python_version(),
        "cloudlet": f"{_version('cloudlet')} at git {_git_sha()}",
        **{name: _version(name) for name in ("granian", "litestar", "sqlalchemy", "msgspec", "asyncpg", "httpx")},
        "SQLite": sqlite3.sqlite_version,
        "wrk": load.wrk_version(),
    }
    if postgres:
        out["PostgreSQL"] = asyncio.run(servers.postgres_version())
    if moto:
        result = subprocess.run([str(servers.moto_python()), "-c", "import moto; print(moto.__version__)"],
                                capture_output=True, text=True, check=False)
        out["moto"] = result.stdout.strip() or "?"
    return out


# --- targets -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    target: str
    measured: str
    passed: bool | None  # None: not measured in this run

    @property
    def label(self) -> str:
        return "n/a" if self.passed is None else "PASS" if self.passed else "FAIL"


def _judge(target: str, cases: list[Case | None], judge: Callable[..., tuple[str, bool]]) -> Verdict:
    """``judge(*cases)`` -> (what was measured, passed), once every case was measured without errors."""
    if any(c is None for c in cases):
        return Verdict(target, "not measured in this run", None)
    bad = [c for c in cases if c is not None and not c.valid]
    if bad:
        return Verdict(target, f"{bad[0].label}: {bad[0].errors} failed requests", False)
    return Verdict(target, *judge(*cases))


def _ratio(value: float) -> str:
    """Two decimals where a target's threshold (1.5x, 2x, 10x) could hide in the rounding."""
    return f"{value:,.0f}x" if value >= 100 else f"{value:,.1f}x" if value >= 20 else f"{value:,.2f}x"


def _versus(ours: Case, theirs: Case, unit: str) -> str:
    return f"{_ratio(ours.rate / theirs.rate)} ({_rate(ours.rate)} vs {_rate(theirs.rate)}{unit})"


def targets(result: RunResult) -> list[Verdict]:
    s = result.settings
    out: list[Verdict] = []
    ceiling = result.find("ceiling", "granian-raw", "")
    small, large = min(s["get_sizes"]), max(s["get_sizes"])
    lsmall, llarge = min(s["list_sizes"]), max(s["list_sizes"])
    for backend in s["backends"]:
        gets = {n: result.find("get", "cloudlet", backend, n) for n in s["get_sizes"]}
        for n, case in gets.items():
            out.append(_judge(f"Get ≥ 15% of the ceiling's req/s — {backend}, {n:,} instances", [case, ceiling],
                              lambda c, top: (f"{c.rate / top.rate:.1%} ({c.rate:,.0f} vs {top.rate:,.0f} req/s)",
                                              c.rate >= 0.15 * top.rate)))
            out.append(_judge(f"Get p99 < 10 ms — {backend}, {n:,} instances", [case],
                              lambda c: (f"{c.p99_ms:.2f} ms", c.p99_ms < 10)))
        if small != large:
            out.append(_judge(f"Get req/s at {large:,} within 1.5x of {small:,} — {backend}",
                              [gets[small], gets[large]],
                              lambda a, b: (f"{_ratio(a.rate / b.rate)} ({a.rate:,.0f} vs {b.rate:,.0f} req/s)",
                                            max(a.rate, b.rate) <= 1.5 * min(a.rate, b.rate))))
        for scenario in ("list-status", "list-name"):
            a = result.find(scenario, "cloudlet", backend, lsmall)
            b = result.find(scenario, "cloudlet", backend, llarge)
            out.append(_judge(f"List ({scenario}) p50 < 25 ms at {llarge:,} — {backend}", [b],
                              lambda c: (f"{c.p50_ms:.2f} ms", c.p50_ms < 25)))
            if lsmall != llarge:
                out.append(_judge(f"List ({scenario}) p50 at {llarge:,} within 1.5x of {lsmall:,} — {backend}", [a, b],
                                  lambda x, y: (f"{_ratio(y.p50_ms / x.p50_ms)} ({y.p50_ms:.2f} vs {x.p50_ms:.2f} ms)",
                                                y.p50_ms <= 1.5 * x.p50_ms)))
    out.append(_judge("Create ≥ 300 instances/s reaching ACTIVE — sqlite, instant profile",
                      [result.find("create", "cloudlet", "sqlite")],
                      lambda c: (f"{c.rate:,.0f}/s", c.rate >= 300)))
    peer = max(s["peer_sizes"])
    for backend in (b for b in s["peer_backends"] if b in s["backends"]):
        for scenario, label in (("get", "get"), ("list-status", "list (status filter)"),
                                ("list-name", "list (name filter)")):
            out.append(_judge(f"Against moto: ≥ 10x its rate on {label} at {peer:,} — {backend}",
                              [result.find(scenario, "cloudlet", backend, peer), result.find(scenario, "moto", "", peer)],
                              lambda ours, theirs: (_versus(ours, theirs, "/s"), ours.rate >= 10 * theirs.rate)))
        out.append(_judge(f"Against moto: ≥ 2x its create rate — {backend}",
                          [result.find("create", "cloudlet", backend), result.find("create", "moto", "")],
                          lambda ours, theirs: (_versus(ours, theirs, " ACTIVE/s"), ours.rate >= 2 * theirs.rate)))
    return out


# --- rendering -----------------------------------------------------------------------------------

DATA = (
    "Data: cloudlet's datasets are bulk-loaded into the database before its server starts (benchmarks/seed.py: "
    "the rows an API create and its finished task leave: instance, boot volume, external port with an "
    "address, security group membership, tags, task); 90% ACTIVE and 10% SHUTOFF, names in eight prefixes "
    "(`name=web` selects 1/8). moto is seeded through boto3 RunInstances in reservations of 20 with one Name "
    "each, 1 reservation in 10 stopped; its list pages are `MaxResults=5` reservations = 100 instances."
)
CREATES = (
    "cloudlet: `POST /cloud/v2/instances/1/1` (flavor g1-standard-1-2, external interface, 10 GiB "
    "image volume, name, 2 tags), then `GET /v1/tasks/{id}` until FINISHED. moto: `RunInstances` "
    "(1 instance, Name tag), then `DescribeInstances` by id until `running`. Every repeat runs on a "
    "server of its own that starts with the same seeded instances (creates pile up otherwise, and moto's "
    "cost per create grows with the instances it holds), after 20 unrecorded warm-up creates. Each of the 16 "
    "workers drives one keep-alive connection through benchmarks/http1.py, a minimal HTTP/1.1 client (httpx "
    "cost ~1 ms of CPU per create on the same two cores, enough to cap the rate measured)."
)
PEERS = (
    "moto_server (threaded werkzeug, its default) from benchmarks/.venv-moto, EC2 query API over HTTP POST "
    "with a SigV4-shaped Authorization header (moto does not verify signatures by default). "
    "Loader *python* marks cases whose single request is too slow for a duration-bounded wrk run "
    "(see Notes)."
)


def _method(s: dict[str, Any]) -> str:
    return (
        "Method: every server runs on loopback and the whole run is measured side by side: all servers are up "
        f"at once, and the repeats ({s['repeats']}) are interleaved: round 1 measures every case, then round 2 ... "
        f"Reads are driven by wrk (`-t1`, {s['seconds']:.0f} s a repeat, after an unrecorded warm-up of at least "
        f"{s['warmup_seconds']:.0f} s that sends every prepared request at least once) from its own process; "
        f"get at {s['get_concurrency']} connections, lists at "
        f"{s['list_concurrency']} (a list's target is a latency; with many connections p50 would mostly be "
        "queueing). Each table shows the median of the repeats; *spread* is (max − min) / median of the "
        "repeats' rates. Every case's answers are checked before it is measured (status, ids, counts), and "
        "any non-2xx answer during a run is counted as an error. *CPU µs/req* is the CPU time of the server's "
        "process tree (its granian workers included; PostgreSQL's own processes not) divided by the requests "
        "answered: it moves far less than req/s when the machine is busy, so it is the figure to compare "
        "before and after an optimisation. The machine is shared and noisy: read the ratios, not the absolute "
        "figures."
    )



def _rate(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}" if value >= 10 else f"{value:,.2f}"


def _ms(value: float) -> str:
    return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"


def _spread(case: Case) -> str:
    return f"{case.spread:.0%}" if len(case.samples) > 1 else "–"


def _cpu(case: Case) -> str:
    return f"{case.cpu_us:,.0f}" if case.cpu_us else "–"


def _status(case: Case) -> str:
    return "" if case.valid else f" **{case.errors} errors**"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|",
            *("| " + " | ".join(r) + " |" for r in rows), ""]


def _of(result: RunResult, scenario: str) -> list[Case]:
    return [c for c in result.cases if c.scenario == scenario]


def render(result: RunResult, *, optimisation_log: str | None = None) -> str:
    s = result.settings
    lines = [
        "# cloudlet benchmark results",
        "",
        (f"`python -m benchmarks run --{result.mode}` — {result.started}, {result.seconds / 60:.1f} minutes. "
         "Generated by the harness (benchmarks/); do not edit by hand except the optimisation log."),
        "",
        _method(s),
        "",
        DATA,
        "",
        "## Machine",
        "",
        *_table(["", ""], [[k, v] for k, v in result.machine.items()]),
        "## Versions",
        "",
        *_table(["", ""], [[k, v] for k, v in result.versions.items()]),
    ]
    verdicts = targets(result)
    lines += ["## Targets", "", *_table(["target", "measured", "result"],
                                         [[v.target, v.measured, f"**{v.label}**"] for v in verdicts])]
    ceiling = result.find("ceiling", "granian-raw", "")
    if ceiling is not None:
        lines += ["## Ceiling: raw ASGI on granian, one instance's JSON", "",
                  *_table(["server", "connections", "req/s", "p50 ms", "p99 ms", "CPU µs/req", "repeats", "spread"],
                          [["granian, bare ASGI app (benchmarks/ceiling_app.py)", str(ceiling.concurrency),
                            _rate(ceiling.rate) + _status(ceiling), _ms(ceiling.p50_ms), _ms(ceiling.p99_ms),
                            _cpu(ceiling), str(len(ceiling.samples)), _spread(ceiling)]])]
    gets = [c for c in _of(result, "get") if c.subject == "cloudlet"]
    if gets:
        rows = []
        for c in gets:
            vs = f"{c.rate / ceiling.rate:.1%}" if ceiling is not None and ceiling.rate else "–"
            rows.append([c.backend, f"{c.instances:,}", str(c.concurrency), _rate(c.rate) + _status(c), _ms(c.p50_ms),
                         _ms(c.p99_ms), _cpu(c), str(len(c.samples)), _spread(c), vs])
        lines += ["## Get: `GET /v1/instances/1/1/{id}` (1,000 ids spread over the dataset)", "",
                  *_table(["backend", "instances", "connections", "req/s", "p50 ms", "p99 ms", "CPU µs/req", "repeats",
                           "spread", "of ceiling"], rows)]
    for scenario, title in (("list-status", f"`GET /v1/instances/1/1?{_query('list-status')}`"),
                            ("list-name", f"`GET /v1/instances/1/1?{_query('list-name')}`")):
        cases = [c for c in _of(result, scenario) if c.subject == "cloudlet"]
        if not cases:
            continue
        rows = []
        for c in cases:
            base = min((o for o in cases if o.backend == c.backend), key=lambda o: o.instances)
            ratio = f"{c.p50_ms / base.p50_ms:.2f}x" if base is not c and base.p50_ms else "–"
            rows.append([c.backend, f"{c.instances:,}", str(c.concurrency), _rate(c.rate) + _status(c), _ms(c.p50_ms),
                         _ms(c.p99_ms), _cpu(c), str(len(c.samples)), _spread(c), ratio])
        lines += [f"## List ({scenario}): {title}, a page of 100", "",
                  *_table(["backend", "instances", "connections", "req/s", "p50 ms", "p99 ms", "CPU µs/req", "repeats",
                           "spread", f"p50 vs {min(c.instances for c in cases):,}"], rows)]
    creates = _of(result, "create")
    if creates:
        rows = [[c.subject, c.backend or "–", f"{c.instances:,}", f"{s['creates']:,}", str(c.concurrency),
                 _rate(c.rate) + _status(c), _ms(c.p50_ms), _ms(c.p99_ms), _cpu(c), str(len(c.samples)), _spread(c)]
                for c in creates]
        lines += ["## Create: instances reaching ACTIVE per second (`instant` profile)", "",
                  CREATES,
                  "",
                  *_table(["subject", "backend", "instances at start", "creates / repeat", "workers", "ACTIVE/s",
                           "p50 ms / create", "p99 ms / create", "CPU µs/create", "repeats", "spread"], rows)]
    lines += _peer_section(result)
    lines += _ratio_section(result)
    if result.notes:
        lines += ["## Notes", "", *(f"- {n}" for n in result.notes), ""]
    lines += [LOG_HEADING, "", (optimisation_log or LOG_PLACEHOLDER).rstrip("\n"), ""]
    return "\n".join(lines)


def _query(scenario: str) -> str:
    from benchmarks.scenarios import LIST_QUERIES

    return LIST_QUERIES[scenario]


def _peer_section(result: RunResult) -> list[str]:
    moto_cases = [c for c in result.cases if c.subject == "moto" and c.scenario != "create"]
    if not moto_cases:
        return []
    rows = []
    calls = {"get": "DescribeInstances by id", "list-status": "DescribeInstances, instance-state-name=running",
             "list-name": "DescribeInstances, tag:Name=*web*"}
    for m in moto_cases:
        for c in result.cases:
            if (c.subject, c.scenario, c.instances) == ("cloudlet", m.scenario, m.instances):
                rows.append([m.scenario, calls[m.scenario], f"{m.instances:,}", str(m.concurrency), c.backend,
                             _rate(c.rate) + _status(c), _rate(m.rate) + _status(m), _ratio(c.rate / m.rate)
                             if m.rate else "–", _ms(m.p50_ms), _cpu(m), m.loader, str(len(m.samples))])
        if not any(c.subject == "cloudlet" and (c.scenario, c.instances) == (m.scenario, m.instances)
                   for c in result.cases):
            rows.append([m.scenario, calls[m.scenario], f"{m.instances:,}", str(m.concurrency), "–", "–",
                         _rate(m.rate) + _status(m), "–", _ms(m.p50_ms), _cpu(m), m.loader, str(len(m.samples))])
    return ["## Peers: moto's server, the equivalent EC2 calls", "",
            PEERS,
            "",
            *_table(["case", "moto call", "instances", "connections", "cloudlet backend", "cloudlet req/s",
                     "moto req/s", "cloudlet / moto", "moto p50 ms", "moto CPU µs/req", "moto loader", "repeats"], rows)]


def _ratio_section(result: RunResult) -> list[str]:
    rows = []
    ceiling = result.find("ceiling", "granian-raw", "")
    s = result.settings
    for backend in s["backends"]:
        for n in s["get_sizes"]:
            c = result.find("get", "cloudlet", backend, n)
            if c and ceiling:
                rows.append([f"get req/s, cloudlet / ceiling — {backend}, {n:,}", f"{c.rate / ceiling.rate:.3f}"])
        a, b = (result.find("get", "cloudlet", backend, n) for n in (min(s["get_sizes"]), max(s["get_sizes"])))
        if a and b and a is not b:
            rows.append([f"get req/s, {b.instances:,} / {a.instances:,} — {backend}", f"{b.rate / a.rate:.2f}"])
        for scenario in ("list-status", "list-name"):
            a, b = (result.find(scenario, "cloudlet", backend, n) for n in (min(s["list_sizes"]), max(s["list_sizes"])))
            if a and b and a is not b:
                rows.append([f"{scenario} p50, {b.instances:,} / {a.instances:,} — {backend}",
                             f"{b.p50_ms / a.p50_ms:.2f}"])
    for m in result.cases:
        if m.subject != "moto" or not m.rate:
            continue
        for c in result.cases:
            if c.subject == "cloudlet" and c.scenario == m.scenario and (
                c.instances == m.instances or m.scenario == "create"
            ):
                rows.append([f"{m.scenario} rate, cloudlet / moto — {c.backend}, {m.instances:,}",
                             _ratio(c.rate / m.rate)])
    if not rows:
        return []
    return ["## Ratios", "", *_table(["ratio", "value"], rows)]


def existing_log(path: Path) -> str | None:
    """The optimisation log of an earlier RESULTS.md, to carry over."""
    try:
        text = path.read_text()
    except OSError:
        return None
    if LOG_HEADING not in text:
        return None
    section = text.split(LOG_HEADING, 1)[1]
    following = section.find("\n## ")
    body = (section if following < 0 else section[:following]).strip("\n")
    return body + "\n" if body.strip() else None


def write(result: RunResult, path: Path) -> None:
    path.write_text(render(result, optimisation_log=existing_log(path)))
