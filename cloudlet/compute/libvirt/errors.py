"""libvirt errors become ``DriverError``s here, at the driver's boundary.

    libvirt.libvirtError (by error code)         ->  cloudlet.compute.base
    ------------------------------------------       ------------------------------------
    NO_DOMAIN, NO_NETWORK, NO_STORAGE_POOL,
      NO_STORAGE_VOL, NO_INTERFACE, DEVICE_MISSING ->  DriverNotFound
    OPERATION_INVALID, DOM_EXIST, NETWORK_EXIST,
      STORAGE_VOL_EXIST, RESOURCE_BUSY             ->  DriverConflict
    OPERATION_TIMEOUT, AGENT_UNRESPONSIVE          ->  DriverTimeout
    SYSTEM_ERROR, RPC, NO_CONNECT, INVALID_CONN,
      AUTH_FAILED, AUTH_UNAVAILABLE,
      NO_SUPPORT, OPERATION_UNSUPPORTED            ->  DriverUnavailable
    anything else                                  ->  DriverError

The codes are libvirt's stable ``virErrorNumber`` values, so this module (and its tests) need no
libvirt installed. The message names the host; libvirt's own text follows (it never holds guest
secrets: cloudlet passes those on a config drive, not in XML that errors could quote).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from cloudlet.compute.base import DriverConflict, DriverError, DriverNotFound, DriverTimeout, DriverUnavailable

__all__ = ["ERROR_MAP", "error_code", "libvirt_errors", "translate"]

# virErrorNumber (libvirt/virterror.h)
VIR_ERR_NO_SUPPORT = 3
VIR_ERR_NO_CONNECT = 5
VIR_ERR_INVALID_CONN = 6
VIR_ERR_DOM_EXIST = 28
VIR_ERR_NETWORK_EXIST = 37
VIR_ERR_SYSTEM_ERROR = 38
VIR_ERR_RPC = 39
VIR_ERR_NO_DOMAIN = 42
VIR_ERR_NO_NETWORK = 43
VIR_ERR_AUTH_FAILED = 45
VIR_ERR_NO_STORAGE_POOL = 49
VIR_ERR_NO_STORAGE_VOL = 50
VIR_ERR_OPERATION_INVALID = 55
VIR_ERR_NO_INTERFACE = 57
VIR_ERR_OPERATION_TIMEOUT = 68
VIR_ERR_OPERATION_UNSUPPORTED = 84
VIR_ERR_AGENT_UNRESPONSIVE = 86
VIR_ERR_RESOURCE_BUSY = 87
VIR_ERR_STORAGE_VOL_EXIST = 90
VIR_ERR_AUTH_UNAVAILABLE = 94
VIR_ERR_DEVICE_MISSING = 99

ERROR_MAP: dict[int, type[DriverError]] = {
    VIR_ERR_NO_DOMAIN: DriverNotFound,
    VIR_ERR_NO_NETWORK: DriverNotFound,
    VIR_ERR_NO_STORAGE_POOL: DriverNotFound,
    VIR_ERR_NO_STORAGE_VOL: DriverNotFound,
    VIR_ERR_NO_INTERFACE: DriverNotFound,
    VIR_ERR_DEVICE_MISSING: DriverNotFound,
    VIR_ERR_OPERATION_INVALID: DriverConflict,
    VIR_ERR_DOM_EXIST: DriverConflict,
    VIR_ERR_NETWORK_EXIST: DriverConflict,
    VIR_ERR_STORAGE_VOL_EXIST: DriverConflict,
    VIR_ERR_RESOURCE_BUSY: DriverConflict,
    VIR_ERR_OPERATION_TIMEOUT: DriverTimeout,
    VIR_ERR_AGENT_UNRESPONSIVE: DriverTimeout,
    VIR_ERR_SYSTEM_ERROR: DriverUnavailable,
    VIR_ERR_RPC: DriverUnavailable,
    VIR_ERR_NO_CONNECT: DriverUnavailable,
    VIR_ERR_INVALID_CONN: DriverUnavailable,
    VIR_ERR_AUTH_FAILED: DriverUnavailable,
    VIR_ERR_AUTH_UNAVAILABLE: DriverUnavailable,
    VIR_ERR_NO_SUPPORT: DriverUnavailable,
    VIR_ERR_OPERATION_UNSUPPORTED: DriverUnavailable,
}


def error_code(exc: BaseException) -> int | None:
    """libvirt's error code of ``exc`` (a ``libvirt.libvirtError``), None for any other exception."""
    get = getattr(exc, "get_error_code", None)
    if get is None:
        return None
    try:
        code = get()
    except Exception:  # noqa: BLE001 - a half-built libvirtError: treat as code-less
        return None
    return int(code) if code is not None else None


def _is_libvirt_error(exc: BaseException) -> bool:
    return type(exc).__name__ == "libvirtError" or hasattr(exc, "get_error_code")


def translate(exc: BaseException, host: str) -> DriverError:
    """The ``DriverError`` for a libvirt error raised while talking to ``host``."""
    code = error_code(exc)
    kind = ERROR_MAP.get(code, DriverError) if code is not None else DriverError
    message = getattr(exc, "get_error_message", lambda: None)() or str(exc) or type(exc).__name__
    return kind(f"libvirt on {host}: {message}")


@contextlib.contextmanager
def libvirt_errors(host: str) -> Iterator[None]:
    """Re-raise libvirt errors inside the block as ``DriverError`` subclasses, chained with ``from``."""
    try:
        yield
    except DriverError:
        raise
    except Exception as exc:
        if not _is_libvirt_error(exc):
            raise
        raise translate(exc, host) from exc
