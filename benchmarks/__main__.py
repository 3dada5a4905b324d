"""``python -m benchmarks run --quick|--full [--only get,list,...] [--backends sqlite,postgres]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks import report
from benchmarks.plan import BACKENDS, FULL, QUICK, SCENARIOS
from benchmarks.results import RunResult
from benchmarks.servers import BenchmarkError

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
LAST_RUN = Path(__file__).resolve().parent / ".work" / "last-run.json"


def _names(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="measure and write benchmarks/RESULTS.md")
    size = run.add_mutually_exclusive_group(required=True)
    size.add_argument("--quick", action="store_true", help=f"{QUICK.seconds:.0f} s x {QUICK.repeats} repeats, "
                                                            f"{QUICK.creates} creates (about 8 minutes)")
    size.add_argument("--full", action="store_true", help=f"{FULL.seconds:.0f} s x {FULL.repeats} repeats, "
                                                           f"{FULL.creates:,} creates (about 20 minutes; "
                                                           "--seconds 7 saves 4)")
    run.add_argument("--only", type=_names, help=f"comma-separated scenarios: {','.join(SCENARIOS)}")
    run.add_argument("--backends", type=_names, help=f"comma-separated: {','.join(BACKENDS)}")
    run.add_argument("--seconds", type=float, help="override the duration of one repeat")
    run.add_argument("--repeats", type=int, help="override the number of repeats")
    run.add_argument("--out", type=Path, default=RESULTS, help="where to write the report (default: %(default)s)")
    run.add_argument("--keep-work", action="store_true", help="keep benchmarks/.work/run-* (databases, server logs)")
    again = sub.add_parser("report", help="render the report again from the last run's raw figures")
    again.add_argument("--out", type=Path, default=RESULTS, help="where to write the report (default: %(default)s)")
    args = parser.parse_args(argv)

    if args.command == "report":
        if not LAST_RUN.exists():
            print(f"benchmarks: no {LAST_RUN} yet: run `python -m benchmarks run --quick` first", file=sys.stderr)
            return 1
        report.write(RunResult.from_json(LAST_RUN.read_text()), args.out)
        print(f"wrote {args.out} from {LAST_RUN}")
        return 0

    from benchmarks.scenarios import run_plan

    try:
        plan = (FULL if args.full else QUICK).narrowed(scenarios=args.only, backends=args.backends,
                                                      seconds=args.seconds, repeats=args.repeats)
        result = run_plan(plan, keep_work=args.keep_work)
    except (BenchmarkError, ValueError) as exc:
        print(f"benchmarks: {exc}", file=sys.stderr)
        return 1
    report.write(result, args.out)
    LAST_RUN.parent.mkdir(exist_ok=True)
    LAST_RUN.write_text(result.to_json())
    print(f"wrote {args.out} (raw figures: {LAST_RUN})")
    for verdict in report.targets(result):
        print(f"  {verdict.label:4}  {verdict.target}: {verdict.measured}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
