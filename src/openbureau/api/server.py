"""Run the app with uvicorn, on the loopback interface only until authentication lands."""

from __future__ import annotations

import ipaddress
import os

import uvicorn
from fastapi import FastAPI

from openbureau.api.app import create_app
from openbureau.config import Settings


class UnsafeBindAddress(ValueError):
    """The host is not a loopback address: the API has no authentication yet."""


def check_loopback(host: str) -> None:
    """Raise UnsafeBindAddress unless `host` is 127.0.0.1, ::1 or another loopback address."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise UnsafeBindAddress(
            f"refusing to serve on {host!r}: the API has no authentication yet and shows "
            "people's files, so it binds to 127.0.0.1 only"
        )


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve the API and pages on `host`:`port` until interrupted (loopback hosts only),
    in `workers` processes (each builds its app from the environment: see `app_from_env`)."""
    check_loopback(host)
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
