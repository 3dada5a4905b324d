from __future__ import annotations

from typing import Any

from tests.reliability.figures import report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    report(terminalreporter)
