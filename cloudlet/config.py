"""Settings: read once from the environment (``CLOUDLET_*``), overridable by CLI flags."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

SIM_PROFILES = ("instant", "fast", "realistic")
DRIVERS = ("simulated", "libvirt")


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
    # Request limits: bodies over ``max_body_bytes`` answer 413; ``rate_limit`` ("50/s", "600/m", "10000/h";
    # None: off) is a token bucket per API key in each API process, answering 429 with Retry-After.
    max_body_bytes: int = 1024 * 1024
    rate_limit: str | None = None
    # Remote console: how long a console URL's token stays valid (Nova's default), the HMAC key that signs
    # it (default: a ``console-secret`` file made once in the data dir), and the base URL the console links
    # use when clients reach cloudlet through a proxy (default: the scheme and Host of the request).
    console_token_ttl: int = 600
    console_secret: str | None = None
    console_base_url: str | None = None
    # Compute driver: "simulated" (default) or "libvirt" (real QEMU guests on the hosts of ``libvirt_uris``).
    # Images' files live in ``image_dir`` (default <data_dir>/images); each host's guest disks in
    # ``instance_dir`` (default <data_dir>/instances, the same path on every host). Guests get the flavor's
    # RAM and vCPUs capped to the two maxima below (TCG is slow; the API still reports the flavor).
    driver: str = "simulated"
    libvirt_uris: tuple[str, ...] = ()
    image_dir: Path | None = None
    instance_dir: Path | None = None
    libvirt_max_guest_ram_mib: int = 256
    libvirt_max_guest_vcpus: int = 1
    libvirt_shutdown_timeout: float = 30.0
    libvirt_stats_interval: float = 15.0

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'cloudlet.db').resolve()}"

    @property
    def effective_image_dir(self) -> Path:
        return self.image_dir if self.image_dir is not None else self.data_dir / "images"

    @property
    def effective_instance_dir(self) -> Path:
        return self.instance_dir if self.instance_dir is not None else self.data_dir / "instances"

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
        if env.get("CLOUDLET_MAX_BODY_BYTES"):
            values["max_body_bytes"] = int(env["CLOUDLET_MAX_BODY_BYTES"])
        if env.get("CLOUDLET_RATE_LIMIT", "").strip().lower() not in ("", "off", "0"):
            values["rate_limit"] = env["CLOUDLET_RATE_LIMIT"].strip()
        if "CLOUDLET_CONSOLE_TOKEN_TTL" in env:
            values["console_token_ttl"] = int(env["CLOUDLET_CONSOLE_TOKEN_TTL"])
        if env.get("CLOUDLET_CONSOLE_SECRET"):
            values["console_secret"] = env["CLOUDLET_CONSOLE_SECRET"]
        if env.get("CLOUDLET_CONSOLE_BASE_URL"):
            values["console_base_url"] = env["CLOUDLET_CONSOLE_BASE_URL"].rstrip("/")
        if env.get("CLOUDLET_DRIVER"):
            values["driver"] = env["CLOUDLET_DRIVER"].strip()
        if env.get("CLOUDLET_LIBVIRT_URI"):
            values["libvirt_uris"] = tuple(u.strip() for u in env["CLOUDLET_LIBVIRT_URI"].split(",") if u.strip())
        if env.get("CLOUDLET_IMAGE_DIR"):
            values["image_dir"] = Path(env["CLOUDLET_IMAGE_DIR"])
        if env.get("CLOUDLET_INSTANCE_DIR"):
            values["instance_dir"] = Path(env["CLOUDLET_INSTANCE_DIR"])
        for name, kind in (("libvirt_max_guest_ram_mib", int), ("libvirt_max_guest_vcpus", int),
                           ("libvirt_shutdown_timeout", float), ("libvirt_stats_interval", float)):
            if env.get(f"CLOUDLET_{name.upper()}"):
                values[name] = kind(env[f"CLOUDLET_{name.upper()}"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.sim_profile not in SIM_PROFILES:
            raise ValueError(f"CLOUDLET_SIM_PROFILE must be one of {', '.join(SIM_PROFILES)}, not {self.sim_profile!r}")
        if self.sim_hosts < 1:
            raise ValueError("CLOUDLET_SIM_HOSTS must be at least 1")
        if self.max_body_bytes < 1024:
            raise ValueError("CLOUDLET_MAX_BODY_BYTES must be at least 1024")
        if self.rate_limit is not None:
            from cloudlet.core.http import RateLimit

            RateLimit.parse(self.rate_limit)
        if self.console_token_ttl < 1:
            raise ValueError("CLOUDLET_CONSOLE_TOKEN_TTL must be at least 1 (seconds)")
        if self.driver not in DRIVERS:
            raise ValueError(f"CLOUDLET_DRIVER must be one of {', '.join(DRIVERS)}, not {self.driver!r}")
        if self.driver == "libvirt" and not self.libvirt_uris:
            raise ValueError("CLOUDLET_DRIVER=libvirt needs CLOUDLET_LIBVIRT_URI (comma-separated libvirt URIs, "
                             "e.g. qemu:///system)")
        if self.libvirt_max_guest_ram_mib < 96:
            raise ValueError("CLOUDLET_LIBVIRT_MAX_GUEST_RAM_MIB must be at least 96 (smaller guests do not boot)")
        if self.libvirt_max_guest_vcpus < 1:
            raise ValueError("CLOUDLET_LIBVIRT_MAX_GUEST_VCPUS must be at least 1")
        url = self.effective_database_url
        if not (url.startswith("sqlite") or url.startswith("postgresql")):
            raise ValueError("CLOUDLET_DATABASE_URL must be a sqlite:// or postgresql+asyncpg:// URL")
