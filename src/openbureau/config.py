"""Settings, read once from the environment (prefix OPENBUREAU_) and passed in; never global."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The development key: fine on a laptop, refused anywhere else (see `environment`).
DEV_TOKEN_KEY = "openbureau-local-development-key-not-for-production"


class Settings(BaseSettings):
    """Where the bureau keeps its data and how it reaches its stores."""

    model_config = SettingsConfigDict(env_prefix="OPENBUREAU_", extra="ignore")

    home: Path = Field(default=Path(".openbureau"), description="The data folder.")
    ledger_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the ledger; default a SQLite file in home."
    )
    token_key: str = Field(
        default=DEV_TOKEN_KEY,
        description="Secret key for national-ID tokens (HMAC-SHA256).",
        repr=False,
    )
    environment: str = Field(default="local", description="local, test or production.")
    engine: str = Field(default="duckdb", description="Batch engine for lake jobs.")
    threads: int | None = Field(default=None, description="DuckDB threads; default all cores.")
    memory_limit: str | None = Field(default=None, description="DuckDB memory limit, e.g. 12GB.")
    spark_master: str = Field(
        default="local[*]",
        description="Spark master URL for `model score --engine spark` (local[*]: this "
        "machine's cores).",
    )
    lake_cache_mb: int = Field(
        default=2048,
        ge=0,
        description="Scoring, model fitting and the model report copy the lake's records "
        "(the columns their queries read) into memory once when they fit in this many MiB, "
        "instead of scanning every Parquet file for each query; 0 always scans the files.",
    )
    rate_limit_per_second: float = Field(
        default=50.0,
        ge=0,
        description="Requests per second each caller (API key, else client address) may "
        "sustain; 0 turns rate limiting off.",
    )
    rate_limit_burst: int = Field(
        default=100, ge=1, description="Requests a caller may send at once before the rate applies."
    )
    compact_seconds: float = Field(
        default=300.0,
        ge=0,
        description="How often a server process looks for record files no serving run covers "
        "(added by other processes) and compacts them in the background; files uploaded to "
        "it are compacted a few seconds after they arrive. 0 turns background compaction "
        "off (run `openbureau compact` instead).",
    )
    key_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="How long a server process trusts an API key it has checked before "
        "checking it in the ledger again: a key revoked by another process stops working "
        "within this time (at once in the revoking process); 0 checks every request.",
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1, description="Largest request body, except file uploads."
    )
    max_upload_bytes: int = Field(
        default=268_435_456, ge=1, description="Largest request body of a furnisher file upload."
    )

    @model_validator(mode="after")
    def _refuse_placeholder_key(self) -> Settings:
        if self.environment not in ("local", "test") and self.token_key == DEV_TOKEN_KEY:
            raise ValueError(
                "OPENBUREAU_TOKEN_KEY must be set to a secret outside local use "
                f"(environment={self.environment!r})"
            )
        return self

    @property
    def resolved_ledger_url(self) -> str:
        if self.ledger_url:
            return self.ledger_url
        return f"sqlite:///{(self.home / 'ledger.sqlite').resolve()}"

    @property
    def lake_dir(self) -> Path:
        return self.home / "lake"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def keys_dir(self) -> Path:
        """Signing keys (the audit checkpoint key); private key files are mode 0600."""
        return self.home / "keys"

    @property
    def token_key_bytes(self) -> bytes:
        return self.token_key.encode()
