"""Errors that become Gcore-shaped HTTP responses.

    CloudletError                      500 unless a subclass says otherwise
    ├── ValidationError                400 (+ invalid_fields)
    ├── AuthenticationError            401
    ├── ForbiddenError                 403 (permission, and capacity such as "no valid host")
    ├── NotFoundError                  404
    ├── MethodNotAllowedError          405
    ├── ConflictError                  409
    │   ├── ResourceLockedError        409 (a task holds the resource's lock)
    │   └── InvalidStateError          409 (the action is not allowed in the current state)
    ├── QuotaLimitExceed               400 (+ info)
    └── RateLimitedError               429

Never use a 409 for a validation failure: the Python SDK retries 409s (endpoints.md fact 17).
The body is ``{exception_class, message, request_id, info?, invalid_fields?}``; one handler in
``cloudlet.core.http`` renders it.
"""

from __future__ import annotations

from typing import Any


class CloudletError(Exception):
    """Base of every error that the API renders; ``exception_class`` defaults to the class name."""

    status_code = 500
    exception_class: str | None = None

    def __init__(
        self,
        message: str,
        *,
        info: dict[str, Any] | None = None,
        invalid_fields: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.info = info
        self.invalid_fields = invalid_fields
        self.headers = headers or {}

    @property
    def name(self) -> str:
        return self.exception_class or type(self).__name__


class ValidationError(CloudletError):
    """The request is malformed or asks for something impossible."""

    status_code = 400

    @classmethod
    def for_field(cls, field: str, message: str) -> ValidationError:
        return cls(f"Validation Error: {{'{field}': ['{message}']}}", invalid_fields={field: [message]})


class AuthenticationError(CloudletError):
    """No credentials, or credentials that match no API key."""

    status_code = 401


class ForbiddenError(CloudletError):
    """The principal may not do this, or the region lacks capacity for it."""

    status_code = 403


class NotFoundError(CloudletError):
    """The resource does not exist, or belongs to another tenant."""

    status_code = 404


class MethodNotAllowedError(CloudletError):
    status_code = 405
    exception_class = "HTTPError"


class ConflictError(CloudletError):
    """The request conflicts with the current state of a resource."""

    status_code = 409


class ResourceLockedError(ConflictError):
    """A running task holds the resource's lock."""

    exception_class = "ConflictError"


class InvalidStateError(ConflictError):
    """The action is not allowed in the resource's current state."""

    exception_class = "ConflictError"


class QuotaLimitExceed(CloudletError):
    """The request would take a regional quota over its limit."""

    status_code = 400


class RateLimitedError(CloudletError):
    status_code = 429
