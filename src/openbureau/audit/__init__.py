"""The audit chain: every change of state and every read of a person's file, hash-chained so
that no one can quietly change history (rules.py: hashing and verification; service.py:
appending in the caller's transaction, streaming verification, signed checkpoints)."""
