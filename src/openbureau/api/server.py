"""Run the app with uvicorn. Every /v1 route needs an API key and every page an operator key,
so the server may bind any address; off loopback, put TLS in front of it (keys are bearer
secrets)."""

from __future__ import annotations

import gc
import ipaddress
import logging
import os

import uvicorn
from fastapi import FastAPI

from openbureau.api.app import create_app
from openbureau.config import Settings

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


#: Collect the youngest generation after this many allocations (CPython's default is 700).
GC_THRESHOLDS = (50_000, 20, 100)


def tune_gc() -> None:
    """Keep the collector's pauses out of a server's latency tail. Everything allocated while
    the app was built (the scoring and identity libraries, tens of megabytes of objects that
    live as long as the process) is moved out of the collector's sight (`gc.freeze`), so a
    full collection no longer walks it while every request waits; and the youngest
    generation is collected less often. Measured on POST /v1/inquiries at 32 connections
    (bench/bench_load.py, BENCHMARKS.md): p99 about 220 ms before, 110 ms after, throughput
    a little higher. Server processes only: a test run freezing its objects would keep them."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve the API and pages on `host`:`port` until interrupted, in `workers` processes
    (each builds its app from the environment: see `worker_app`)."""
    if not is_loopback(host):
        log.warning(
            "serving on %s: API keys are bearer secrets, so reach this server only through "
            "TLS (a reverse proxy terminating HTTPS)",
            host,
        )
    if workers == 1:
        app = create_app(settings)
        tune_gc()
        uvicorn.run(app, host=host, port=port, log_level="info")
        return
    # Worker processes are started by uvicorn and import the app themselves: they read the
    # settings from the environment, so the home chosen here is put there first.
    os.environ["OPENBUREAU_HOME"] = str(settings.home)
    if settings.ledger_url:
        os.environ["OPENBUREAU_LEDGER_URL"] = settings.ledger_url
    uvicorn.run(
        "openbureau.api.server:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


def app_from_env() -> FastAPI:
    """The app over the settings in the environment (OPENBUREAU_*)."""
    return create_app(Settings())


def worker_app() -> FastAPI:
    """A worker process's factory: `app_from_env`, then `tune_gc` (the worker serves)."""
    app = app_from_env()
    tune_gc()
    return app
