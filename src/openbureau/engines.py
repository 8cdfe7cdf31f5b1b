"""Ibis connections to the batch engines, and how a pandas frame is put in front of them.

DuckDB is the default and always installed. Spark is optional (`openbureau[spark]`, which
brings pyspark; Spark itself needs Java 17 or later) and imported only when asked for, so that
a machine without it fails with an install hint instead of an import error at start-up.
"""

from __future__ import annotations

import uuid

import ibis
import ibis.expr.types as ir
import pandas as pd

ENGINES = ("duckdb", "spark")


class EngineUnavailable(RuntimeError):
    """The engine asked for cannot run here; the message says what to install or set."""


def check_engine(name: str) -> str:
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; use {' or '.join(ENGINES)}")
    return name


def duckdb_connection(threads: int | None = None, memory_limit: str | None = None):
    config: dict[str, object] = {}
    if threads:
        config["threads"] = threads
    if memory_limit:
        config["memory_limit"] = memory_limit
    return ibis.duckdb.connect(**config)


def spark_connection(master: str = "local[*]"):
    """An Ibis connection to a Spark session on `master` (`local[*]`: this machine's cores;
    or a cluster's URL). The session is Spark's own singleton, one per process: asked for
    again with the same master it is reused, and with another master the request is refused
    (Spark would silently keep the first one)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise EngineUnavailable(
            "the spark engine needs pyspark: install openbureau[spark] "
            "(`uv sync --extra spark` in a checkout, `pip install 'openbureau[spark]'` elsewhere)"
        ) from exc
    try:
        session = (
            SparkSession.builder.master(master)
            .appName("openbureau")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
    except Exception as exc:  # pyspark raises its own types, and RuntimeError without Java
        raise EngineUnavailable(
            f"Spark did not start on {master!r} ({type(exc).__name__}: {exc}); "
            "Spark needs Java 17 or later on PATH or in JAVA_HOME"
        ) from exc
    running = session.sparkContext.master
    if running != master:  # getOrCreate handed back the process's session, on its master
        raise EngineUnavailable(
            f"this process already runs Spark on {running!r}, so it cannot also run on "
            f"{master!r}: Spark allows one session per process. Run the job in a new process "
            "to use another master"
        )
    return ibis.pyspark.connect(session)


def frame_table(con, frame: pd.DataFrame, *, text_columns: list[str] = ()) -> ir.Table:
    """`frame` as a table of `con`'s engine, under a fresh name. DuckDB reads the frame in
    place (pandas `category` columns as ENUM); Spark copies it into a temporary view, with
    `text_columns` as strings (missing as null) whatever pandas dtype they hold, since Spark
    infers no type for a column of missing values only."""
    name = f"frame_{uuid.uuid4().hex}"
    if con.name == "duckdb":
        con.con.register(name, frame)
        return con.table(name)
    if con.name == "pyspark":
        from pyspark.sql import types as T

        fields = []
        data = frame.copy(deep=False)
        for column, dtype in frame.dtypes.items():
            if (
                column in text_columns
                or pd.api.types.is_object_dtype(dtype)
                or pd.api.types.is_string_dtype(dtype)
                or isinstance(dtype, pd.CategoricalDtype)
            ):
                values = frame[column].astype(object)
                data[column] = values.astype(str).astype(object).where(values.notna(), None)
                kind = T.StringType()
            elif pd.api.types.is_integer_dtype(dtype):
                kind = T.LongType()
            elif pd.api.types.is_bool_dtype(dtype):
                kind = T.BooleanType()
            elif pd.api.types.is_float_dtype(dtype):
                kind = T.DoubleType()
            else:
                raise ValueError(
                    f"column {column!r} ({dtype}) has no Spark type here: pass it as text "
                    "(text_columns) or as numbers"
                )
            fields.append(T.StructField(str(column), kind, nullable=True))
        session = con._session
        session.createDataFrame(data, schema=T.StructType(fields)).createOrReplaceTempView(name)
        return con.table(name)
    raise ValueError(f"no way to put a frame in front of the {con.name!r} engine")
