"""The HTTP API (FastAPI): `create_app(settings)` builds everything; nothing at import time."""
