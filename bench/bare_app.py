"""The baseline of bench_load.py: a bare FastAPI JSON endpoint, served by uvicorn exactly as
`openbureau serve` serves the bureau (same loop, HTTP parser, log level, worker count).

    python bench/bare_app.py PORT [WORKERS]"""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn
from fastapi import FastAPI


def build() -> FastAPI:
    app = FastAPI()

    @app.get("/bare")
    async def bare() -> dict:
        return {"status": "ok", "score": 700}

    return app


if __name__ == "__main__":
    port = int(sys.argv[1])
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    if workers == 1:
        uvicorn.run(build(), host="127.0.0.1", port=port, log_level="info")
    else:
        uvicorn.run(
            "bare_app:build",
            factory=True,
            app_dir=str(Path(__file__).parent),
            host="127.0.0.1",
            port=port,
            workers=workers,
            log_level="info",
        )
