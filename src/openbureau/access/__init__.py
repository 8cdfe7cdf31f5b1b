"""Parties, roles and API keys: who may call the bureau, and for what."""
