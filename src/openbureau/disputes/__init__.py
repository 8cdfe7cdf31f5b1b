"""Disputes: a subject contests a record, its furnisher answers within 30 days."""
