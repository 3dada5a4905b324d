"""A tiny run of the benchmark harness (benchmarks/): SQLite, 1,000 instances, 1 s per case, no moto.

It checks that the harness works end to end and reports every row, not cloudlet's speed: the figures
of a run this short on a shared machine mean nothing, so no target is asserted here.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

from benchmarks import report
from benchmarks.plan import Plan
from benchmarks.scenarios import run_plan
from benchmarks.servers import BenchmarkError

pytestmark = pytest.mark.benchmark_smoke

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

SMOKE = Plan(
    mode="smoke", scenarios=("ceiling", "get", "list", "create"), backends=("sqlite",), seconds=1, repeats=1,
    warmup_seconds=1, get_sizes=(1_000,), list_sizes=(1_000,), creates=50, create_size=1_000,
)


@pytest.fixture(scope="module")
def result():
    if shutil.which("wrk") is None and os.geteuid() != 0 and not IN_CI:
        pytest.skip("wrk is not installed (apt-get install -y wrk)")
    try:
        # in a thread of its own: the harness's asyncio.run() calls must not replace (and then clear) the
        # event loop that pytest-asyncio keeps set in the main thread for the async tests after this one
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(run_plan, SMOKE).result()
    except BenchmarkError as exc:
        if IN_CI:
            raise
        pytest.skip(f"the harness cannot run here: {exc}")


def test_every_case_was_measured_without_errors(result):
    measured = {(c.scenario, c.subject, c.backend, c.instances) for c in result.cases}
    assert measured == {
        ("ceiling", "granian-raw", "", 0),
        ("get", "cloudlet", "sqlite", 1_000),
        ("list-status", "cloudlet", "sqlite", 1_000),
        ("list-name", "cloudlet", "sqlite", 1_000),
        ("create", "cloudlet", "sqlite", 1_000),
    }
    for case in result.cases:
        assert case.valid, f"{case.label}: {case.samples}"
        assert len(case.samples) == 1 and case.rate > 0 and 0 < case.p50_ms <= case.p99_ms
        assert case.cpu_us > 0, f"{case.label}: the server's CPU time was not measured"
    create = result.find("create", "cloudlet", "sqlite")
    assert create.samples[0].requests == SMOKE.creates


def test_seeded_instances_look_like_api_created_ones(result):
    assert not [n for n in result.notes if "WARNING" in n]


def test_report_has_a_row_for_every_case_and_target(result):
    markdown = report.render(result)
    assert "| granian, bare ASGI app (benchmarks/ceiling_app.py) | 32 |" in markdown
    assert "| sqlite | 1,000 | 32 |" in markdown  # get
    assert markdown.count("| sqlite | 1,000 | 1 |") == 2  # list-status, list-name
    assert "| cloudlet | sqlite | 1,000 | 50 | 16 |" in markdown  # create
    verdicts = {v.target: v.label for v in report.targets(result)}
    for target in ("Get ≥ 15% of the ceiling's req/s — sqlite, 1,000 instances", "Get p99 < 10 ms — sqlite, 1,000 instances",
                   "List (list-status) p50 < 25 ms at 1,000 — sqlite", "List (list-name) p50 < 25 ms at 1,000 — sqlite",
                   "Create ≥ 300 instances/s reaching ACTIVE — sqlite, instant profile"):
        assert verdicts[target] in ("PASS", "FAIL"), target
    assert verdicts["Against moto: ≥ 2x its create rate — sqlite"] == "n/a"
    for heading in ("## Machine", "## Versions", "## Targets", "## Ratios", report.LOG_HEADING):
        assert heading in markdown


def test_rewriting_the_report_keeps_the_optimisation_log(result, tmp_path):
    path = tmp_path / "RESULTS.md"
    report.write(result, path)
    assert report.LOG_PLACEHOLDER.strip() in path.read_text()
    entry = "- 2026-12-01 cache the scope lookup: get 550 -> 900 req/s (sqlite, 1,000)\n"
    path.write_text(path.read_text().replace(report.LOG_PLACEHOLDER.strip(), entry.strip()))
    report.write(result, path)
    text = path.read_text()
    assert entry.strip() in text and report.LOG_PLACEHOLDER.strip() not in text
    assert text.count(report.LOG_HEADING) == 1


def test_raw_figures_render_the_same_report(result):
    from benchmarks.results import RunResult

    assert report.render(RunResult.from_json(result.to_json())) == report.render(result)
