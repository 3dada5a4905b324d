"""What a benchmark run produces: samples (one per repeat), cases (one measured thing), the run."""

from __future__ import annotations

import dataclasses
import json
import statistics
from typing import Any


@dataclasses.dataclass(slots=True)
class Sample:
    """One repeat of one case: completed requests (or creates) in ``seconds``, with latencies."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int = 0  # non-2xx answers, socket errors and time-outs; a sample with errors is not trusted
    server_cpu_s: float = 0.0  # CPU time the server's process tree used meanwhile (0: not measured)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


@dataclasses.dataclass(slots=True)
class Case:
    """One measured thing, e.g. "get, cloudlet on SQLite, 100,000 instances, 32 connections"."""

    scenario: str  # ceiling | get | list-status | list-name | create
    subject: str  # cloudlet | granian-raw | moto
    backend: str  # sqlite | postgres | "" (ceiling, moto)
    instances: int
    concurrency: int
    loader: str = "wrk"  # wrk | python (see load.py: requests too slow for a duration-bounded wrk run)
    items_per_response: int | None = None
    samples: list[Sample] = dataclasses.field(default_factory=list)
    note: str = ""

    @property
    def label(self) -> str:
        who = f"{self.subject}-{self.backend}" if self.backend else self.subject
        return f"{self.scenario} {who} n={self.instances} c={self.concurrency}"

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.samples)

    @property
    def valid(self) -> bool:
        return bool(self.samples) and self.errors == 0 and all(s.requests > 0 for s in self.samples)

    @property
    def rate(self) -> float:
        """Median requests (or creates) per second over the repeats."""
        return statistics.median(s.rate for s in self.samples) if self.samples else 0.0

    @property
    def p50_ms(self) -> float:
        return statistics.median(s.p50_ms for s in self.samples) if self.samples else 0.0

    @property
    def p99_ms(self) -> float:
        return statistics.median(s.p99_ms for s in self.samples) if self.samples else 0.0

    @property
    def cpu_us(self) -> float:
        """Median server CPU time per request (or create), in microseconds: robust to a busy machine."""
        values = [s.server_cpu_s / s.requests * 1e6 for s in self.samples if s.requests and s.server_cpu_s]
        return statistics.median(values) if values else 0.0

    @property
    def spread(self) -> float:
        """(max - min) / median of the repeats' rates: how much the noisy machine moved this case."""
        rates = [s.rate for s in self.samples]
        if len(rates) < 2 or not self.rate:
            return 0.0
        return (max(rates) - min(rates)) / self.rate

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data.update(rate=self.rate, p50_ms=self.p50_ms, p99_ms=self.p99_ms, cpu_us=self.cpu_us, spread=self.spread,
                    valid=self.valid)
        return data


@dataclasses.dataclass(slots=True)
class RunResult:
    mode: str
    started: str  # ISO 8601 UTC
    finished: str
    seconds: float
    machine: dict[str, str]
    versions: dict[str, str]
    settings: dict[str, Any]
    cases: list[Case]
    notes: list[str] = dataclasses.field(default_factory=list)

    def find(self, scenario: str, subject: str, backend: str, instances: int | None = None) -> Case | None:
        for case in self.cases:
            if (case.scenario, case.subject, case.backend) == (scenario, subject, backend) and (
                instances is None or case.instances == instances
            ):
                return case
        return None

    def to_json(self) -> str:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "cases"}
        data["cases"] = [c.to_json() for c in self.cases]
        return json.dumps(data, indent=2)

    @classmethod
    def from_json(cls, text: str) -> RunResult:
        data = json.loads(text)
        case_fields = {f.name for f in dataclasses.fields(Case)}
        cases = []
        for raw in data.pop("cases"):
            samples = [Sample(**s) for s in raw.pop("samples")]
            cases.append(Case(**{k: v for k, v in raw.items() if k in case_fields}, samples=samples))
        return cls(**data, cases=cases)
