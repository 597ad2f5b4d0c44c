"""Settings from the environment (``ASSESS_*``), in one place for the CLI and the web app."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The key a fresh checkout signs sessions with. Fine on a laptop; refused in production.
DEFAULT_SECRET = "local-development-only-change-me"


class Settings(BaseSettings):
    """How this installation runs. Every field can be set as ``ASSESS_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="ASSESS_", extra="ignore")

    environment: Literal["local", "production"] = "local"
    data_dir: Path = Path("data")
    database_url: str | None = None  # default: a SQLite file in data_dir
    secret_key: str = DEFAULT_SECRET
    session_idle_seconds: int = 2 * 3600  # a session ends after this long without a request
    # Worker threads per process for request handlers. The handlers are mostly Python work
    # under one interpreter lock; more threads than this only queue for that lock and slow
    # every request down (measured: bench/http.py, 40 threads against 4).
    threads: int = Field(default=8, ge=1, le=200)

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> Settings:
        if self.environment == "production" and (
            self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32
        ):
            raise ValueError(
                "生产环境必须设置 ASSESS_SECRET_KEY（至少 32 个字符）/ "
                "production needs ASSESS_SECRET_KEY set to a secret of at least 32 characters"
            )
        return self

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the database."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'assess.db').resolve()}"
