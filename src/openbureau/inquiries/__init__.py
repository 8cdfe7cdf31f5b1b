"""Inquiries by relying parties: permissible purposes, consent, the inquiry log and the
notices owed to subjects (the outbox)."""
