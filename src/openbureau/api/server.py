"""Run the app with uvicorn, on the loopback interface only until authentication lands."""

from __future__ import annotations

import ipaddress

import uvicorn

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


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the API and pages on `host`:`port` until interrupted (loopback hosts only)."""
    check_loopback(host)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
