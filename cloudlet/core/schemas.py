"""Wire models that several API groups share (one definition each, so the OpenAPI has one component)."""

from __future__ import annotations

from msgspec import Struct


class TaskIdList(Struct):
    """The ids of the asynchronous tasks a call started; poll each with ``GET /v1/tasks/{task_id}``."""

    tasks: list[str]


class Tag(Struct):
    """A key/value tag (the same store as v1 metadata on instances)."""

    key: str
    value: str
    read_only: bool
