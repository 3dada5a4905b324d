"""What a run measures and for how long: ``QUICK`` and ``FULL`` presets, narrowed by the CLI."""

from __future__ import annotations

import dataclasses

SCENARIOS = ("ceiling", "get", "list", "create", "peers")
BACKENDS = ("sqlite", "postgres")


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    mode: str = "quick"
    scenarios: tuple[str, ...] = SCENARIOS
    backends: tuple[str, ...] = BACKENDS
    seconds: float = 3.0  # one wrk run (one repeat of one case)
    repeats: int = 3
    warmup_seconds: float = 1.0  # one unrecorded wrk run per case before the first repeat
    get_sizes: tuple[int, ...] = (1_000, 100_000)
    list_sizes: tuple[int, ...] = (1_000, 10_000, 100_000)
    get_concurrency: int = 32  # connections, as in shared/reference/stack-measurements.md
    # A list page is judged by its latency (target: p50 under 25 ms); with 32 connections p50 would be
    # 32 queued service times, so lists are measured with one connection: latency = per-request cost.
    list_concurrency: int = 1
    creates: int = 200  # per repeat, for each subject
    # unrecorded creates on each server first (statements compiled, caches and pools filled), as reads
    # get an unrecorded wrk run
    create_warmup: int = 20
    create_workers: int = 16
    # Each create repeat runs against a server of its own that holds this many seeded instances, so
    # every repeat starts from the same state (moto's create cost grows with the instances it holds).
    create_size: int = 1_000
    peer_sizes: tuple[int, ...] = (1_000, 5_000)
    # cloudlet is compared with moto on these backends (a 5,000-instance cloudlet dataset is seeded for each)
    peer_backends: tuple[str, ...] = ("sqlite",)
    # a case whose single request takes longer than seconds / this is measured by the Python loader
    # (wrk, bounded by duration, would finish too few requests to say anything)
    min_wrk_requests: int = 5

    @property
    def peers(self) -> bool:
        return "peers" in self.scenarios

    def sizes_for(self, backend: str) -> list[int]:
        """Dataset sizes (one seeded database and server each) that the reads on ``backend`` need."""
        sizes: set[int] = set()
        if "get" in self.scenarios:
            sizes.update(self.get_sizes)
        if "list" in self.scenarios:
            sizes.update(self.list_sizes)
        if self.peers and backend in self.peer_backends:
            sizes.update(self.peer_sizes)
        return sorted(sizes)

    def moto_sizes(self) -> list[int]:
        """Dataset sizes of moto servers for the reads."""
        return sorted(self.peer_sizes) if self.peers else []

    @property
    def create_rounds(self) -> int:
        """Create datasets (of ``create_size``) per subject: one per repeat."""
        return self.repeats if "create" in self.scenarios else 0

    def narrowed(self, *, scenarios: tuple[str, ...] | None = None, backends: tuple[str, ...] | None = None,
                 **overrides: object) -> Plan:
        changes: dict[str, object] = {k: v for k, v in overrides.items() if v is not None}
        if scenarios is not None:
            unknown = set(scenarios) - set(SCENARIOS)
            if unknown:
                raise ValueError(f"unknown scenario(s) {', '.join(sorted(unknown))}; choose from {', '.join(SCENARIOS)}")
            changes["scenarios"] = tuple(s for s in SCENARIOS if s in scenarios)
        if backends is not None:
            unknown = set(backends) - set(BACKENDS)
            if unknown:
                raise ValueError(f"unknown backend(s) {', '.join(sorted(unknown))}; choose from {', '.join(BACKENDS)}")
            changes["backends"] = tuple(b for b in BACKENDS if b in backends)
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


QUICK = Plan(mode="quick", seconds=3.0, repeats=3, creates=500)
FULL = Plan(mode="full", seconds=10.0, repeats=3, creates=1_000)
