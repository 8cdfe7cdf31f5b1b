"""The closed catalogue: pillars, record types, fields, legal bases, retention, licences,
prohibited categories and identifier schemes. Pure data and pure functions."""

from openbureau.catalogue.model import (
    CATALOGUE_VERSION,
    COMMON_COLUMNS,
    FURNISHER_KINDS,
    IDENTITY_COLUMNS,
    PILLARS,
    RECORD_TYPES,
    SUBJECT_KINDS,
    Field,
    RecordType,
    all_input_columns,
    record_type,
)

__all__ = [
    "CATALOGUE_VERSION",
    "COMMON_COLUMNS",
    "FURNISHER_KINDS",
    "IDENTITY_COLUMNS",
    "PILLARS",
    "RECORD_TYPES",
    "SUBJECT_KINDS",
    "Field",
    "RecordType",
    "all_input_columns",
    "record_type",
]
