"""Run the app with uvicorn. Every /v1 route needs an API key and every page an operator key,
so the server may bind any address; off loopback, put TLS in front of it (keys are bearer
secrets)."""

from __future__ import annotations

import ipaddress
import logging

import uvicorn

from openbureau.api.app import create_app
from openbureau.config import Settings

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the API and pages on `host`:`port` until interrupted."""
    if not is_loopback(host):
        log.warning(
            "serving on %s: API keys are bearer secrets, so reach this server only through "
            "TLS (a reverse proxy terminating HTTPS)",
            host,
        )
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
