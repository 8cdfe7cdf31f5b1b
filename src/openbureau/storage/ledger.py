"""The ledger: operational state the API serves (SQLAlchemy Core; SQLite by default).

Tables are defined once here; Alembic migrations (storage/migrations) create and change them,
and `create_ledger` brings a ledger to the newest revision. Every write goes through
`engine.begin()` so a stage publishes all of its results or none."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    make_url,
    text,
)

metadata = MetaData()

furnishers = Table(
    "furnishers",
    metadata,
    Column("furnisher_id", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

batches = Table(
    "batches",
    metadata,
    Column("batch_id", String(40), primary_key=True),
    Column("furnisher_id", String(64), ForeignKey("furnishers.furnisher_id"), nullable=False),
    Column("file_name", String(500), nullable=False),
    Column("file_format", String(16), nullable=False),
    Column("checksum", String(64), nullable=False),
    # accepted: rows in the lake (possibly some quarantined); rejected: file-level error.
    Column("status", String(16), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("rows_total", Integer, nullable=False),
    Column("rows_accepted", Integer, nullable=False),
    Column("rows_rejected", Integer, nullable=False),
    Column("rows_duplicate", Integer, nullable=False, default=0),
    Column("rejected_by_rule", JSON, nullable=False),
    Column("error", String(2000)),
    Column("lake_path", String(500)),
    Column("quarantine_path", String(500)),
    Index("ix_batches_furnisher_checksum", "furnisher_id", "checksum"),
)

subjects = Table(
    "subjects",
    metadata,
    Column("subject_id", String(24), primary_key=True),
    Column("subject_kind", String(16), nullable=False),
    Column("display_name", String(300), nullable=False),
    Column("national_id_masked", String(40)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # A merge keeps the old id as a redirect to the surviving one.
    Column("merged_into", String(24)),
    # Set when no record carries any of the subject's identities any more (identity/erasure.py):
    # the row keeps only its id and kind; cleared if the subject is furnished again.
    Column("erased_at", DateTime(timezone=True)),
)

#: Stable keys that tie an identity to a subject across runs (token or name+birth date).
subject_keys = Table(
    "subject_keys",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("subject_id", String(24), nullable=False, index=True),
)

models = Table(
    "models",
    metadata,
    Column("model_version", String(64), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("train_as_of", Date, nullable=False),
    Column("validate_as_of", Date),
    Column("artefact_path", String(500), nullable=False),
    Column("metrics", JSON, nullable=False),
    Column("champion", Boolean, nullable=False, default=False),
)

scores = Table(
    "scores",
    metadata,
    Column("subject_id", String(24), primary_key=True),
    Column("as_of", Date, primary_key=True),
    Column("model_version", String(64), primary_key=True),
    Column("scorable", Boolean, nullable=False),
    Column("score", Integer),
    Column("not_scorable_reason", String(300)),
    Column("pillar_commercial", Float),
    Column("pillar_judicial", Float),
    Column("pillar_societal", Float),
    Column("pillar_government", Float),
    Column("reasons", JSON, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=True),
    Column("stage", String(32), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False),
    Column("details", JSON, nullable=False),
)

#: Identity review queue: pairs of identity variants scored between the two thresholds, and
#: the operator's decision (same / different), which later runs obey and learn from.
review_pairs = Table(
    "review_pairs",
    metadata,
    Column("pair_id", String(40), primary_key=True),
    Column("variant_l", String(40), nullable=False),
    Column("variant_r", String(40), nullable=False),
    Column("subject_l", String(24)),
    Column("subject_r", String(24)),
    Column("match_probability", Float, nullable=False),
    Column("evidence", JSON, nullable=False),
    # open | same | different
    Column("status", String(16), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True)),
    Column("decided_by", String(200)),
)

SEQ_TYPE = BigInteger().with_variant(Integer, "sqlite")

#: The hash-chained audit log (see audit/rules.py): appended through `audit.service.append`
#: only, never updated or deleted. `seq` is gapless, assigned by the appender; `payload` is
#: the entry's canonical JSON text, exactly as hashed.
audit_log = Table(
    "audit_log",
    metadata,
    # 64-bit on PostgreSQL; on SQLite an INTEGER primary key is the rowid (64-bit anyway)
    Column("seq", SEQ_TYPE, primary_key=True, autoincrement=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject_id", String(24), index=True),
    Column("purpose", String(100)),
    Column("payload", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
)


#: Everyone the bureau deals with through keys (see access/rules.py for kinds and roles).
parties = Table(
    "parties",
    metadata,
    Column("party_id", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    # a party that furnishes data is tied to its registered furnisher; a subject to its file
    Column("furnisher_id", String(64), ForeignKey("furnishers.furnisher_id")),
    Column("subject_id", String(24)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

#: API keys: only the SHA-256 of the secret is kept; a revoked key stays, with revoked_at.
api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(16), primary_key=True),
    Column("party_id", String(64), ForeignKey("parties.party_id"), nullable=False, index=True),
    Column("role", String(32), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

#: Every inquiry into a subject's file: who, when, why, hard or soft (inquiries/rules.py).
inquiries = Table(
    "inquiries",
    metadata,
    Column("inquiry_id", String(40), primary_key=True),
    Column("subject_id", String(24), nullable=False),
    Column("party_id", String(64), ForeignKey("parties.party_id"), nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("hard", Boolean, nullable=False),
    Column("matched_by", String(16), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Index("ix_inquiries_subject_occurred", "subject_id", "occurred_at"),
)

#: A subject's consent to one party for one purpose, until a date, unless revoked.
consents = Table(
    "consents",
    metadata,
    Column("consent_id", String(40), primary_key=True),
    Column("subject_id", String(24), nullable=False, index=True),
    Column("party_id", String(64), ForeignKey("parties.party_id"), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("valid_until", Date, nullable=False),
    Column("granted_at", DateTime(timezone=True), nullable=False),
    # "subject-key:<key id>" or "signed-form:<reference>"
    Column("evidence", String(200), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

#: Notices owed to subjects (one per inquiry: alert on every pull), until delivered.
outbox = Table(
    "outbox",
    metadata,
    Column("notice_id", String(40), primary_key=True),
    Column("subject_id", String(24), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("body", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
)


#: A subject's dispute of one record, open until its furnisher answers (disputes/rules.py).
disputes = Table(
    "disputes",
    metadata,
    Column("dispute_id", String(40), primary_key=True),
    Column("subject_id", String(24), nullable=False, index=True),
    Column("furnisher_id", String(64), ForeignKey("furnishers.furnisher_id"), nullable=False),
    Column("record_id", String(255), nullable=False),
    Column("record_type", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    # the key of the audit chain's HMACs of reason and note; erased with them
    Column("salt", String(32)),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("opened_by", String(200), nullable=False),
    Column("due_on", Date, nullable=False),
    # open, then answered (with outcome, note, answered_at and answered_by)
    Column("status", String(16), nullable=False),
    Column("outcome", String(16)),
    Column("note", Text),
    Column("answered_at", DateTime(timezone=True)),
    Column("answered_by", String(200)),
    # when a batch brought back the record this dispute deleted (its subject was told once)
    Column("reinserted_at", DateTime(timezone=True)),
    # a dispute of a whole account (disputes/rules.py): one dispute per record, opened and
    # answered together; group_id is the first one's dispute_id
    Column("group_id", String(40)),
    Column("account_id", String(255)),
    Index("ix_disputes_record", "furnisher_id", "record_id"),
    Index("ix_disputes_group_id", "group_id"),
    Index("ix_disputes_furnisher_status", "furnisher_id", "status"),
    # one open dispute per record, however many requests race to open one
    Index(
        "ux_disputes_open_record",
        "furnisher_id",
        "record_id",
        unique=True,
        sqlite_where=text("status = 'open'"),
        postgresql_where=text("status = 'open'"),
    ),
)


#: A subject's entry on a black or red list, through due process (lists/rules.py).
list_entries = Table(
    "list_entries",
    metadata,
    Column("entry_id", String(40), primary_key=True),
    Column("list_id", String(48), nullable=False),
    Column("subject_id", String(24), nullable=False, index=True),
    # the finding it rests on: a record of the file (black lists) ...
    Column("furnisher_id", String(64), ForeignKey("furnishers.furnisher_id")),
    Column("record_id", String(255)),
    Column("record_type", String(32)),
    # the cited finding's case: a judgment of that case reported paid lifts the entry
    Column("case_number", String(255)),
    # ... or an authority's decision (red lists)
    Column("authority", String(200)),
    Column("decision_reference", String(200)),
    Column("decision_date", Date),
    Column("grounds", Text, nullable=False),
    # the key of the audit chain's HMACs of the entry's words; erased with them
    Column("salt", String(32)),
    Column("term_months", Integer, nullable=False),
    Column("proposed_at", DateTime(timezone=True), nullable=False),
    Column("proposed_by", String(200), nullable=False),
    Column("proposed_party", String(64), nullable=False),
    Column("objection_ends_on", Date, nullable=False),
    Column("objection", Text),
    Column("objected_at", DateTime(timezone=True)),
    # proposed -> (objected ->) listed or rejected; listed -> removed or ended
    Column("status", String(16), nullable=False),
    Column("decided_at", DateTime(timezone=True)),
    Column("decided_by", String(200)),
    Column("decision_note", Text),
    Column("listed_on", Date),
    Column("ends_on", Date),
    Column("removed_at", DateTime(timezone=True)),
    Column("removed_by", String(200)),
    Column("removal_reason", String(24)),
    Column("removal_note", Text),
    # the organisation's legal representative, where the list's law publishes the name
    # (lists/rules.py: names_representative); erased with the file's other words
    Column("legal_representative", String(200)),
    Index("ix_list_entries_record", "furnisher_id", "record_id"),
    Index("ix_list_entries_status", "status"),
    # one entry on its way to a list, or on it, per subject and list
    Index(
        "ux_list_entries_open",
        "list_id",
        "subject_id",
        unique=True,
        sqlite_where=text("status IN ('proposed', 'objected', 'listed')"),
        postgresql_where=text("status IN ('proposed', 'objected', 'listed')"),
    ),
)


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - exercised via engine
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


# Enough pooled connections for the API's worker threads (40 by default): past the pool size
# every checkout opens a new connection and every checkin closes it, which under load cost
# more than the queries. SQLite connections are only file handles; a PostgreSQL server has
# ~100 connection slots to share among several API processes.
_POOL = {
    "sqlite": {"pool_size": 40, "max_overflow": 10, "pool_use_lifo": True},
    "postgresql": {"pool_size": 20, "max_overflow": 10, "pool_use_lifo": True},
}


def create_ledger(url: str) -> Engine:
    """An engine on `url` with the ledger migrated to the newest schema (Alembic)."""
    from openbureau.storage.migrate import upgrade  # noqa: PLC0415 - alembic only when used

    # hide_parameters: a database error's message carries no value of the failed statement
    # (a dispute's words, a name), so no log line can (api/redaction.py covers ids and keys)
    engine = create_engine(
        url,
        future=True,
        hide_parameters=True,
        **_POOL.get(make_url(url).get_backend_name(), {}),
    )
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    upgrade(engine)
    return engine
