"""The ceiling: a bare ASGI app answering every request with the same bytes (one instance's JSON, taken
from a running cloudlet), served by granian exactly as ``cloudlet serve`` configures it. Nothing a
server stack does per request can be cheaper, so cloudlet's rates are read as a fraction of this one.

Run: ``BENCH_CEILING_BODY=body.json python -m benchmarks.ceiling_app HOST PORT``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

_BODY = Path(os.environ["BENCH_CEILING_BODY"]).read_bytes() if os.environ.get("BENCH_CEILING_BODY") else b"{}"
_START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(_BODY)).encode())],
}
_BODY_MESSAGE = {"type": "http.response.body", "body": _BODY}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send(_START)
    await send(_BODY_MESSAGE)


def main() -> None:
    from granian import Granian
    from granian.constants import Interfaces

    host, port = sys.argv[1], int(sys.argv[2])
    # the same options as cloudlet/cli.py `_serve` (one process)
    Granian("benchmarks.ceiling_app:app", address=host, port=port, interface=Interfaces.ASGI, workers=1,
            log_access=False, backlog=2048).serve()


if __name__ == "__main__":
    main()
