"""Settings: PAYERFLEET_* environment variables over an optional TOML file over defaults."""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _toml_path() -> Path:
    return Path(os.environ.get("PAYERFLEET_CONFIG", "payerfleet.toml"))


class Settings(BaseSettings):
    """Everything an operator can configure; see README 'Configuration'."""

    model_config = SettingsConfigDict(env_prefix="PAYERFLEET_", extra="ignore")

    # Holds the SQLite database, encrypted blobs, keys and logs; relative paths are to the CWD.
    data_dir: Path = Path("var")
    # SQLAlchemy URL; empty means SQLite at <data_dir>/payerfleet.db.
    database_url: str = ""
    # Fernet key(s), comma-separated, newest first; empty means <data_dir>/keys/master.key.
    secret_key: SecretStr | None = None
    # "console" for people, "json" for log shippers.
    log_format: Literal["console", "json"] = "console"
    log_level: str = "INFO"
    # Path to a Chromium binary; empty lets the browser bootstrap decide.
    browser_executable: str = ""
    # Organisation type drives the default write-off threshold.
    org_type: Literal["practice", "hospital"] = "practice"
    # Directory whose routing.toml / payer_rules.toml replace the shipped routing data files.
    routing_dir: Path | None = None
    # Days to keep Playwright traces of failed runs.
    trace_retention_days: int = Field(default=30, ge=0)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, _toml_path()))

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'payerfleet.db').resolve()}"

    @property
    def key_file(self) -> Path:
        return self.data_dir / "keys" / "master.key"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
