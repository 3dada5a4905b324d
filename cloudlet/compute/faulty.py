"""A driver wrapper that fails the next operation: how injected faults reach a task."""

from __future__ import annotations

from typing import Any

from cloudlet.compute.base import ComputeDriver, DriverError

_MUTATING = {
    "create", "delete", "start", "stop", "reboot", "suspend", "resume", "resize",
    "attach_interface", "detach_interface",
}


class FaultyDriver:
    """Delegates to ``inner``; the first mutating call raises ``DriverError(message)``."""

    def __init__(self, inner: ComputeDriver, message: str) -> None:
        self._inner = inner
        self._message = message

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in _MUTATING:
            return attr

        async def fail(*_: Any, **__: Any) -> None:
            raise DriverError(self._message)

        return fail
