"""What the reliability and fuzz suites did (cases run, faults injected, invariants checked), printed at the end
of the run so the README's figures come from a real run."""

from __future__ import annotations

import collections
from typing import Any

FIGURES: collections.Counter[str] = collections.Counter()
_reported = False


def report(terminalreporter: Any) -> None:
    """Print the figures once (both tests/fuzz and tests/reliability ask)."""
    global _reported
    if _reported or not FIGURES:
        return
    _reported = True
    terminalreporter.write_sep("-", "reliability figures")
    for name, count in sorted(FIGURES.items()):
        terminalreporter.write_line(f"{name}: {count}")
