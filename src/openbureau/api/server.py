"""Run the app with uvicorn. Every /v1 route needs an API key and every page an operator key,
so the server may bind any address; off loopback, put TLS in front of it (keys are bearer
secrets)."""

from __future__ import annotations

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


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve the API and pages on `host`:`port` until interrupted, in `workers` processes
    (each builds its app from the environment: see `app_from_env`)."""
    if not is_loopback(host):
        log.warning(
            "serving on %s: API keys are bearer secrets, so reach this server only through "
            "TLS (a reverse proxy terminating HTTPS)",
            host,
        )
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
        return
    # Worker processes are started by uvicorn and import the app themselves: they read the
    # settings from the environment, so the home chosen here is put there first.
    os.environ["OPENBUREAU_HOME"] = str(settings.home)
    if settings.ledger_url:
        os.environ["OPENBUREAU_LEDGER_URL"] = settings.ledger_url
    uvicorn.run(
        "openbureau.api.server:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


def app_from_env() -> FastAPI:
    """The app over the settings in the environment (OPENBUREAU_*): a worker's factory."""
    return create_app(Settings())
