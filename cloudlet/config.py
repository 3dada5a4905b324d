"""Settings: read once from the environment (``CLOUDLET_*``), overridable by CLI flags."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

SIM_PROFILES = ("instant", "fast", "realistic")


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = Path(".cloudlet")
    database_url: str = ""
    admin_api_key: str | None = None
    sim_profile: str = "fast"
    sim_hosts: int = 3
    region_name: str = "Luxembourg"
    inline_workers: int = 8
    worker_hosts: frozenset[str] | None = None  # hypervisors this process's workers serve (None: all)
    db_pool_size: int = 10
    task_lease_seconds: float = 30.0
    task_poll_seconds: float = 0.5
    finished_task_retention_days: int = 7
    log_level: str = "info"
    # Remote console: how long a console URL's token stays valid (Nova's default), the HMAC key that signs
    # it (default: a ``console-secret`` file made once in the data dir), and the base URL the console links
    # use when clients reach cloudlet through a proxy (default: the scheme and Host of the request).
    console_token_ttl: int = 600
    console_secret: str | None = None
    console_base_url: str | None = None

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'cloudlet.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: object) -> Settings:
        env = dict(os.environ if env is None else env)
        values: dict[str, object] = {}
        if "CLOUDLET_DATA_DIR" in env:
            values["data_dir"] = Path(env["CLOUDLET_DATA_DIR"])
        if "CLOUDLET_DATABASE_URL" in env:
            values["database_url"] = env["CLOUDLET_DATABASE_URL"]
        if env.get("CLOUDLET_ADMIN_API_KEY"):
            values["admin_api_key"] = env["CLOUDLET_ADMIN_API_KEY"]
        if "CLOUDLET_SIM_PROFILE" in env:
            values["sim_profile"] = env["CLOUDLET_SIM_PROFILE"]
        if "CLOUDLET_SIM_HOSTS" in env:
            values["sim_hosts"] = int(env["CLOUDLET_SIM_HOSTS"])
        if "CLOUDLET_INLINE_WORKERS" in env:
            values["inline_workers"] = int(env["CLOUDLET_INLINE_WORKERS"])
        if env.get("CLOUDLET_WORKER_HOSTS"):
            values["worker_hosts"] = frozenset(h.strip() for h in env["CLOUDLET_WORKER_HOSTS"].split(",") if h.strip())
        if "CLOUDLET_DB_POOL_SIZE" in env:
            values["db_pool_size"] = int(env["CLOUDLET_DB_POOL_SIZE"])
        if "CLOUDLET_TASK_LEASE_SECONDS" in env:
            values["task_lease_seconds"] = float(env["CLOUDLET_TASK_LEASE_SECONDS"])
        if "CLOUDLET_LOG_LEVEL" in env:
            values["log_level"] = env["CLOUDLET_LOG_LEVEL"]
        if "CLOUDLET_CONSOLE_TOKEN_TTL" in env:
            values["console_token_ttl"] = int(env["CLOUDLET_CONSOLE_TOKEN_TTL"])
        if env.get("CLOUDLET_CONSOLE_SECRET"):
            values["console_secret"] = env["CLOUDLET_CONSOLE_SECRET"]
        if env.get("CLOUDLET_CONSOLE_BASE_URL"):
            values["console_base_url"] = env["CLOUDLET_CONSOLE_BASE_URL"].rstrip("/")
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.sim_profile not in SIM_PROFILES:
            raise ValueError(f"CLOUDLET_SIM_PROFILE must be one of {', '.join(SIM_PROFILES)}, not {self.sim_profile!r}")
        if self.sim_hosts < 1:
            raise ValueError("CLOUDLET_SIM_HOSTS must be at least 1")
        if self.console_token_ttl < 1:
            raise ValueError("CLOUDLET_CONSOLE_TOKEN_TTL must be at least 1 (seconds)")
        url = self.effective_database_url
        if not (url.startswith("sqlite") or url.startswith("postgresql")):
            raise ValueError("CLOUDLET_DATABASE_URL must be a sqlite:// or postgresql+asyncpg:// URL")
