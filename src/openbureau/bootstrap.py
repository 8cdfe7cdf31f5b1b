"""The one place that wires settings to stores and engines. Nothing here runs at import."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import ibis
from sqlalchemy import Engine

from openbureau.config import Settings
from openbureau.storage.lake import Lake
from openbureau.storage.ledger import create_ledger


@dataclass
class Bureau:
    """The stores of one bureau home: the lake, the ledger, and a batch-engine factory."""

    settings: Settings

    @cached_property
    def lake(self) -> Lake:
        return Lake(self.settings.lake_dir)

    @cached_property
    def ledger(self) -> Engine:
        self.settings.home.mkdir(parents=True, exist_ok=True)
        return create_ledger(self.settings.resolved_ledger_url)

    def batch_engine(self):
        """A fresh Ibis connection for one batch job (DuckDB in-process by default)."""
        if self.settings.engine == "duckdb":
            config = {}
            if self.settings.threads:
                config["threads"] = self.settings.threads
            if self.settings.memory_limit:
                config["memory_limit"] = self.settings.memory_limit
            return ibis.duckdb.connect(**config)
        if self.settings.engine == "spark":
            # The jobs are Ibis expressions so that Spark can run them, but this version neither
            # ships pyspark nor tests the jobs on it: refuse rather than half work.
            raise ValueError(
                "the spark engine is not available in this version: set OPENBUREAU_ENGINE=duckdb"
            )
        raise ValueError(f"unknown engine {self.settings.engine!r}; use duckdb or spark")


def build_bureau(settings: Settings | None = None) -> Bureau:
    return Bureau(settings or Settings())
