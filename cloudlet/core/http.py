"""HTTP plumbing shared by every API group: request ids, the ``/cloud`` prefix, and the Gcore error body."""

from __future__ import annotations

import contextvars
import uuid
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    ValidationException,
)
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from cloudlet.core.errors import CloudletError, ValidationError

log = structlog.get_logger()

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


class GcoreFrontDoor:
    """Outermost ASGI layer: serves every path with and without ``/cloud`` and tags each request with an id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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

        await self.app(scope, receive, send_with_id)


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


def handle_unexpected(_: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.error("request.unexpected_error", exc_info=exc)
    return _respond(500, error_body("InternalServerError", "An unexpected error occurred; quote the request_id"))


EXCEPTION_HANDLERS = {
    CloudletError: handle_cloudlet_error,
    ValidationException: handle_validation,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}


def json_response(content: Any, status_code: int = 200) -> Response[bytes]:
    return Response(content=msgspec.json.encode(content), status_code=status_code, media_type="application/json")
