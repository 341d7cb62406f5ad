"""Fleet settings: the `[fleet]` table of payerfleet.toml, overridable by PAYERFLEET_FLEET_* variables."""
from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from core.errors import ConfigError

# Requests per minute per portal when the operator sets nothing: well under what a person clicks.
DEFAULT_RATE_LIMITS = {"availity": 120, "uhc": 120, "caqh": 60}


class FleetConfig(BaseModel):
    """How runs execute; see docs/fleet.md."""

    model_config = {"frozen": True, "extra": "forbid"}
    # "local" runs in-process (SQLite or PostgreSQL); "procrastinate" needs PostgreSQL.
    backend: Literal["local", "procrastinate"] = "local"
    # Concurrent browser contexts (= concurrent runs) per worker process.
    max_contexts: int = Field(default=2, ge=1, le=64)
    # A Chromium is replaced after this many runs, or at once after a crash/disconnect.
    recycle_after: int = Field(default=50, ge=1)
    # A run that takes longer than this fails with RunTimedOut.
    run_timeout_s: float = Field(default=900, gt=0)
    # A run interrupted this many times (crash, kill) fails for good with RunAbandoned.
    max_attempts: int = Field(default=3, ge=1)
    # portal -> requests per minute; 0 switches the limit off for that portal.
    rate_limits: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    # A run's lease lapses this long after its worker's last heartbeat; only then may another worker
    # recover it (both backends; Procrastinate also recovers the jobs of workers silent this long).
    stalled_after_s: float = Field(default=60, gt=0)
    heartbeat_s: float = Field(default=10, gt=0)
    # A submit click with no confirmation is not called "not received" before this long: the POST may
    # still reach the payer late. Longer than any browser can hold the request open (run_timeout_s kills
    # the run and its context) and than proxy queues hold one; see docs/fleet.md.
    settle_s: float = Field(default=1800, gt=0)

    def rate_limit(self, portal: str) -> int:
        return self.rate_limits.get(portal, 0)


def _env_overrides() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in os.environ.items():
        if key.startswith("PAYERFLEET_FLEET_") and key != "PAYERFLEET_FLEET_RATE_LIMITS":
            out[key.removeprefix("PAYERFLEET_FLEET_").lower()] = value
    limits = os.environ.get("PAYERFLEET_FLEET_RATE_LIMITS")
    if limits:
        # "availity=60,uhc=30"
        try:
            out["rate_limits"] = {k.strip(): int(v) for k, v in (p.split("=") for p in limits.split(",") if p)}
        except ValueError as exc:
            raise ConfigError("PAYERFLEET_FLEET_RATE_LIMITS must look like 'availity=60,uhc=30'") from exc
    return out


def load_fleet_config(path: Path | None = None, **overrides: Any) -> FleetConfig:
    """The `[fleet]` table of the config file, then environment, then explicit overrides."""
    path = path or Path(os.environ.get("PAYERFLEET_CONFIG", "payerfleet.toml"))
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = dict(tomllib.loads(path.read_text()).get("fleet", {}))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    data.update(_env_overrides())
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return FleetConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"invalid [fleet] configuration: {exc.errors()[0]['loc']} {exc.errors()[0]['msg']}") from exc
