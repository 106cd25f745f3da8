"""Process settings: where data lives, which database, access policy.

Every setting has a default and an ``ATELIER_*`` environment override, e.g.
``ATELIER_DATA_DIR=/srv/maison`` or
``ATELIER_DATABASE_URL=postgresql+psycopg://user@host/atelier``.
Engine parameters live in :mod:`core.engine.config` (they are tuned and saved
with a model, not set per process).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]


#: The largest table file read, in MB (uploads, imports, loading): the one default.
DEFAULT_MAX_FILE_MB = 512.0


class Settings(BaseSettings):
    """Settings for one Atelier process (read from ``ATELIER_*`` variables)."""

    model_config = SettingsConfigDict(env_prefix="ATELIER_", extra="ignore")

    data_dir: Path = Field(default=REPO_ROOT / "data", description="folder with the data tables")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite file atelier.db in data_dir",
    )
    model_dir: Path | None = Field(
        default=None, description="where fitted models are saved; default data_dir/model"
    )
    serve: Literal["memory", "per-client"] = Field(
        default="memory",
        description="memory: load every table and fit in this process; per-client: hold "
        "products and clients only and read each client's events per request from the "
        "partitioned events/, with the product-side model of `fit --dask`",
    )
    seed: int = Field(default=7, description="seed of the generated default maison")
    max_upload_mb: float = Field(
        default=DEFAULT_MAX_FILE_MB, gt=0, description="largest table file read"
    )
    session_timeout_minutes: float = Field(default=30.0, gt=0)
    max_failed_logins: int = Field(default=5, ge=1)
    lockout_minutes: float = Field(default=15.0, gt=0)
    contact_cooldown_days: int = Field(default=7, ge=0)
    max_contacts_per_cooldown: int = Field(default=1, ge=1)
    holdout_share: float = Field(
        default=0.0,
        ge=0.0,
        lt=0.5,
        description="share of clients who get generic suggestions, to measure lift",
    )

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'atelier.db').as_posix()}"

    @property
    def resolved_model_dir(self) -> Path:
        return self.model_dir if self.model_dir is not None else self.data_dir / "model"

    @property
    def product_side_model_dir(self) -> Path:
        """Where ``fit --dask`` saves the product-side model and ``serve=per-client`` loads it."""
        out = self.resolved_model_dir
        return out.with_name(f"{out.name}-products")


def get_settings() -> Settings:
    """Read the settings from the environment now (no module-level cache)."""
    return Settings()
