"""Console links already opened: a console token opens its page once and its websocket once."""

from __future__ import annotations

import sqlalchemy as sa

from cloudlet.models.base import metadata

console_tokens = sa.Table(
    "console_tokens", metadata,
    # "<token nonce>:<page|socket>"; the row outlives the token only until the next purge
    sa.Column("nonce", sa.String(64), primary_key=True),
    sa.Column("expires_at", sa.DateTime, nullable=False),
)
