"""The one place that wires settings to stores and engines. Nothing here runs at import."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine

from openbureau.config import Settings
from openbureau.engines import check_engine, duckdb_connection, spark_connection
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
        """A fresh Ibis connection for one lake job (DuckDB in-process by default)."""
        if check_engine(self.settings.engine) == "spark":
            # The lake jobs are Ibis expressions so that Spark can run them, but only the
            # compiled scorecard is tested on Spark so far (`model score --engine spark`):
            # refuse the rest rather than half work.
            raise ValueError(
                "the lake jobs run on duckdb only in this version (the compiled scorecard "
                "also runs on Spark: `openbureau model score --engine spark`); "
                "set OPENBUREAU_ENGINE=duckdb"
            )
        return self.connect("duckdb")

    def connect(self, engine: str):
        """A fresh Ibis connection to `engine` (duckdb, or spark on `spark_master`; spark
        raises EngineUnavailable, saying what to install, where pyspark or Java is missing)."""
        if check_engine(engine) == "spark":
            return spark_connection(self.settings.spark_master)
        return duckdb_connection(self.settings.threads, self.settings.memory_limit)


def build_bureau(settings: Settings | None = None) -> Bureau:
    return Bureau(settings or Settings())
