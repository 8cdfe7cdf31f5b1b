"""Retention: records past their catalogue retention are deleted from the lake (`purge`)."""
