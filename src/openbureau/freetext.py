"""Free text that people write into the ledger (a dispute's reason, an objection to a list
entry, an operator's note): what is accepted, and what the audit chain keeps of it.

The chain is kept for ever and may be published, so it never holds the words, only an HMAC
of them under a random salt kept beside the words in the ledger. While the salt is kept the
words can be checked against the chain; once a file is emptied the words and the salt are
erased together (identity/erasure.py), and the digest says nothing, not even to someone
guessing short words."""

from __future__ import annotations

import hashlib
import hmac
import secrets

#: What free text becomes once its subject's file is emptied (identity/erasure.py).
ERASED = "(erased)"


def problem(what: str, text: str, limit: int, hint: str = "") -> str | None:
    """Why `text` cannot be taken (empty, longer than `limit`, control characters other than
    tab, line feed and carriage return), or None."""
    if not text.strip():
        return f"{what} is empty{hint}"
    if len(text) > limit:
        return f"{what} is {len(text)} characters long; at most {limit}"
    if any(ord(c) < 32 or ord(c) == 127 for c in text if c not in "\r\n\t"):
        return f"{what} holds control characters"
    return None


def new_salt() -> str:
    return secrets.token_hex(16)


def digest(salt: str | None, text: str) -> str | None:
    """What the audit chain keeps of `text`: an HMAC-SHA256 under `salt` (None once erased)."""
    if salt is None:
        return None
    return hmac.new(bytes.fromhex(salt), text.encode(), hashlib.sha256).hexdigest()
