"""The network-side tests run in a project of their own client (see helpers.own_project)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.api.networks.helpers import own_project


@pytest.fixture
async def project_id(runtime: Any, client: Any) -> AsyncIterator[int]:
    async with own_project(runtime, client) as pid:
        yield pid
