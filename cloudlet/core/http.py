"""HTTP plumbing shared by every API group: request ids, the ``/cloud`` prefix, request size and rate limits,
and the Gcore error body."""

from __future__ import annotations

import contextvars
import dataclasses
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import sqlalchemy.exc
import structlog
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    ValidationException,
)
from litestar.openapi.spec import OpenAPI, OpenAPIResponse, OpenAPIType, Reference, Schema
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from cloudlet.core.errors import CloudletError, ValidationError

log = structlog.get_logger()

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


DEFAULT_MAX_BODY_BYTES = 1024 * 1024
_PERIODS = {"s": 1.0, "m": 60.0, "h": 3600.0}


@dataclasses.dataclass(frozen=True, slots=True)
class RateLimit:
    """``requests`` per ``period`` seconds for each API key, with bursts of up to ``requests``."""

    requests: int
    period: float

    @classmethod
    def parse(cls, spec: str) -> RateLimit:
        """``"50/s"``, ``"600/m"`` or ``"10000/h"``."""
        count, _, unit = spec.strip().partition("/")
        unit = unit.strip().lower()[:1]
        if not count.strip().isdigit() or int(count) < 1 or unit not in _PERIODS:
            raise ValueError(f"CLOUDLET_RATE_LIMIT must look like 50/s, 600/m or 10000/h, not {spec!r}")
        return cls(int(count), _PERIODS[unit])


class TokenBuckets:
    """One token bucket per caller, in this process's memory (each API process limits on its own)."""

    MAX_CALLERS = 10_000  # beyond this, idle (full) buckets are forgotten

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(limit.requests)
        self.rate = limit.requests / limit.period  # tokens per second
        self.clock = clock
        self.buckets: dict[int, tuple[float, float]] = {}  # caller -> (tokens, when)

    def take(self, caller: int) -> float:
        """0 if the caller may go on now, else the seconds until it may."""
        now = self.clock()
        tokens, since = self.buckets.get(caller, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - since) * self.rate)
        if tokens < 1.0:
            self.buckets[caller] = (tokens, now)
            return (1.0 - tokens) / self.rate
        if len(self.buckets) >= self.MAX_CALLERS and caller not in self.buckets:
            self._forget_idle(now)
        self.buckets[caller] = (tokens - 1.0, now)
        return 0.0

    def _forget_idle(self, now: float) -> None:
        refill = self.capacity / self.rate
        self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < refill}
        if len(self.buckets) >= self.MAX_CALLERS:
            self.buckets.clear()


class _BodyTooLarge(Exception):
    pass


class GcoreFrontDoor:
    """Outermost ASGI layer: serves every path with and without ``/cloud``, tags each request with an id, and
    turns away bodies over ``max_body_bytes`` (413) and callers over their ``rate_limit`` (429).

    ``cached_get(scope)``, if given, may answer a GET with a ready 200 JSON body before the router
    (instances/cached_get.py); None lets the router answer."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 rate_limit: RateLimit | None = None,
                 cached_get: Callable[[HTTPScope], Awaitable[bytes | None]] | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.buckets = TokenBuckets(rate_limit) if rate_limit else None
        self.cached_get = cached_get

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket" and scope["path"].startswith("/cloud/"):
                scope = {**scope, "path": scope["path"][6:], "raw_path": scope["path"][6:].encode()}  # type: ignore[misc]
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path.startswith("/cloud/"):
            scope = {**scope, "path": path[6:], "raw_path": path[6:].encode()}  # type: ignore[misc]
        request_id = uuid.uuid4().hex
        request_id_var.set(request_id)
        header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]  # type: ignore[typeddict-item]
            await send(message)

        length: bytes | None = None
        authorization = b""
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"authorization":
                authorization = value
        if self.buckets is not None:
            # keyed by the API key (a hash: no token is kept); callers without one by their address
            client = scope.get("client")
            wait = self.buckets.take(hash(authorization or (client[0] if client else "")))
            if wait:
                retry_after = str(max(1, math.ceil(wait)))
                await _reply(send_with_id, 429, error_body(
                    "RateLimitedError", f"Too many requests with this API key: retry in {retry_after} s"),
                    [(b"retry-after", retry_after.encode())])
                return
        if length is not None:
            if not length.isdigit():
                await _reply(send_with_id, 400, error_body("ValidationError", "Content-Length is not a number"))
                return
            if int(length) > self.max_body_bytes:
                await self._too_large(send_with_id)
                return
        elif scope["method"] not in ("GET", "HEAD"):  # type: ignore[typeddict-item]
            # No length given (chunked): read up to the limit here, then hand the body on.
            try:
                receive = await self._bounded_body(receive)
            except _BodyTooLarge:
                await self._too_large(send_with_id)
                return
        if self.cached_get is not None and scope["method"] == "GET":  # type: ignore[typeddict-item]
            body = await self.cached_get(scope)  # type: ignore[arg-type]
            if body is not None:
                await _reply(send_with_id, 200, body)
                return
        await self.app(scope, receive, send_with_id)

    async def _bounded_body(self, receive: Receive) -> Receive:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replay: list[Any] = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]
        if message["type"] != "http.request":
            replay = [message]

        async def replayed() -> Any:
            return replay.pop() if replay else await receive()

        return replayed

    async def _too_large(self, send: Send) -> None:
        await _reply(send, 413, error_body(
            "HTTPError", f"HTTP 413: the request body is larger than {self.max_body_bytes} bytes"))


async def _reply(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send({"type": "http.response.start", "status": status,  # type: ignore[typeddict-item]
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(headers or ())]})
    await send({"type": "http.response.body", "body": body, "more_body": False})  # type: ignore[typeddict-item]


def error_body(exception_class: str, message: str, **extra: Any) -> bytes:
    body: dict[str, Any] = {"exception_class": exception_class, "message": message, "request_id": request_id_var.get()}
    body.update({k: v for k, v in extra.items() if v is not None})
    return msgspec.json.encode(body)


def _respond(status: int, body: bytes, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(content=body, status_code=status, media_type="application/json", headers=headers)


def handle_cloudlet_error(_: Request[Any, Any, Any], exc: CloudletError) -> Response[bytes]:
    body = error_body(exc.name, exc.message, info=exc.info, invalid_fields=exc.invalid_fields)
    return _respond(exc.status_code, body, exc.headers)


def _invalid_fields(exc: ValidationException) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            key = str(item.get("key") or item.get("source") or "body")
            fields.setdefault(key, []).append(str(item.get("message", "Invalid value")))
    return fields


def handle_validation(_: Request[Any, Any, Any], exc: ValidationException) -> Response[bytes]:
    fields = _invalid_fields(exc) or {"body": [str(exc.detail)]}
    err = ValidationError(f"Validation Error: {fields}", invalid_fields=fields)
    return _respond(400, error_body(err.name, err.message, invalid_fields=fields))


def handle_http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    if isinstance(exc, NotFoundException):
        return _respond(404, error_body("NotFoundError", "The requested resource could not be found"))
    if isinstance(exc, MethodNotAllowedException):
        return _respond(405, error_body("HTTPError", "HTTP 405: Method Not Allowed"))
    status = exc.status_code
    name = "ValidationError" if status == 400 else "HTTPError"
    return _respond(status, error_body(name, str(exc.detail)), exc.headers)


def handle_out_of_range(_: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """A value the database cannot store (an id of 2**70, a NUL character) is bad input, not a server fault."""
    message = "A value in the request cannot be stored (out of range, or a character such as NUL)"
    return _respond(400, error_body("ValidationError", message, invalid_fields={"body": [message]}))


def handle_database_error(request: Request[Any, Any, Any], exc: sqlalchemy.exc.DBAPIError) -> Response[bytes]:
    # PostgreSQL's class 22 "data exception" (asyncpg's own check of an int's range, or of text it cannot
    # encode, too): the request carried the value, so it is the request's fault
    if isinstance(exc, sqlalchemy.exc.DataError) or str(getattr(exc.orig, "sqlstate", "") or "").startswith("22"):
        return handle_out_of_range(request, exc)
    return handle_unexpected(request, exc)


def handle_unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.error("request.unexpected_error", exc_info=exc)
    return _respond(500, error_body("InternalServerError", "An unexpected error occurred; quote the request_id"))


EXCEPTION_HANDLERS = {
    CloudletError: handle_cloudlet_error,
    ValidationException: handle_validation,
    HTTPException: handle_http_exception,
    OverflowError: handle_out_of_range,  # SQLite: an int beyond 64 bits
    sqlalchemy.exc.DBAPIError: handle_database_error,  # PostgreSQL: a value its column cannot hold
    Exception: handle_unexpected,
}


def declare_gcore_errors(openapi: OpenAPI) -> None:
    """Litestar documents its own error body for the 4xx answers it infers; cloudlet answers with Gcore's."""
    string = Schema(type=OpenAPIType.STRING)
    openapi.components.schemas["GcoreError"] = Schema(
        type=OpenAPIType.OBJECT, required=["exception_class", "message", "request_id"],
        properties={"exception_class": string, "message": string, "request_id": string,
                    "info": Schema(type=[OpenAPIType.OBJECT, OpenAPIType.NULL]),
                    "invalid_fields": Schema(type=OpenAPIType.OBJECT,
                                             additional_properties=Schema(type=OpenAPIType.ARRAY, items=string))},
        description="Gcore's error body",
    )
    for item in (openapi.paths or {}).values():
        for operation in (item.get, item.put, item.post, item.patch, item.delete):
            for status, response in ((operation.responses if operation else None) or {}).items():
                if status[0] in "45" and isinstance(response, OpenAPIResponse) and response.content:
                    for media in response.content.values():
                        media.schema = Reference(ref="#/components/schemas/GcoreError")


def json_bytes(data: bytes) -> Response[bytes]:
    """A 200 response whose JSON body is already encoded (cached renderings on hot paths)."""
    return Response(content=data, status_code=200, media_type="application/json")


def json_response(content: Any, status_code: int = 200) -> Response[bytes]:
    return Response(content=msgspec.json.encode(content), status_code=status_code, media_type="application/json")
