"""Point-in-time features per subject, as Ibis expressions (engine-neutral: nothing here opens a
connection or runs a query).

Point in time: a record is used at `as_of` only when it was reported on or before `as_of`, its
own date (reporting month, due date, judgment date...) is not after `as_of`, it is the highest
version of its (furnisher_id, record_id) known at `as_of`, and it is still within retention
(`catalogue.rules.retention_months`; penalties by severity). Each record type is read in one
pass with only the columns it needs, aggregated by group-by (no window over the lake).
"""

from __future__ import annotations

from datetime import date

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from openbureau.catalogue.rules import PENALTY_RETENTION_MONTHS, add_months, retention_months
from openbureau.features.rules import (
    CLOSED_STATUSES,
    DEROGATORY_STATUSES,
    HARDSHIP_STATUS,
    NEVER_DELINQUENT_MONTHS,
    REVOLVING_ACCOUNT_TYPES,
    SCORED_RECORD_TYPES,
    pillar_record_types,
)

_KEY = ["furnisher_id", "record_id"]


# The value at the latest key, as the engines' own aggregate (DuckDB arg_max, Spark max_by):
# Ibis's generic argmax becomes an ordered FIRST(... ORDER BY ...) that sorts every group.
@ibis.udf.agg.builtin(name="max_by")
def _latest_str(arg: str, key: date) -> str: ...


@ibis.udf.agg.builtin(name="max_by")
def _latest_int(arg: int, key: date) -> int: ...


def _month_index(col: ir.DateValue) -> ir.IntegerValue:
    return col.year().cast("int64") * 12 + col.month().cast("int64")


def _month_index_of(d: date) -> int:
    return d.year * 12 + d.month


def latest_records(records: ir.Table, as_of: date | None = None) -> ir.Table:
    """Only the highest version of each (furnisher_id, record_id); with `as_of`, the highest
    version reported on or before `as_of` (a correction sent later is not yet known).

    Corrections are rare, so the versions above 1 are grouped on their own and joined back
    (a small hash join) instead of ranking the whole lake."""
    if as_of is not None:
        records = records.filter(records.reported_on <= as_of)
    versioned = records.filter(records.version.fill_null(1) > 1)
    corrected = versioned.group_by(_KEY).agg(_top_version=versioned.version.max())
    joined = records.left_join(corrected, _KEY)
    keep = joined._top_version.isnull() | (joined.version.fill_null(1) == joined._top_version)
    return joined.filter(keep).select(records.columns)


def without_withdrawn(records: ir.Table, withdrawn: list[tuple[str, str, date]]) -> ir.Table:
    """`records` without the versions a dispute's answer deleted: for each (furnisher_id,
    record_id, answered on), those reported on or before that day (disputes/rules.py
    `withdrawn`; a version reported later is a new furnishing)."""
    if not withdrawn:
        return records
    latest: dict[tuple[str, str], date] = {}
    for furnisher_id, record_id, on in withdrawn:
        key = (furnisher_id, record_id)
        latest[key] = max(on, latest.get(key, on))
    gone = ibis.memtable(
        pa.table(
            {
                "furnisher_id": pa.array([k[0] for k in latest], pa.string()),
                "record_id": pa.array([k[1] for k in latest], pa.string()),
                "_withdrawn_on": pa.array(list(latest.values()), pa.date32()),
            }
        )
    )
    joined = records.left_join(gone, _KEY)
    keep = joined._withdrawn_on.isnull() | (joined.reported_on > joined._withdrawn_on)
    return joined.filter(keep).select(records.columns)


def subject_records(records: ir.Table, links: ir.Table) -> ir.Table:
    """`records` with the `subject_id` their identity_key links to (unlinked records drop)."""
    keys = links.select("identity_key", "subject_id")
    return records.inner_join(keys, "identity_key")


def _usable(
    records: ir.Table,
    links: ir.Table,
    record_type: str,
    columns: list[str],
    as_of: date,
    date_column: str,
    months: int | None = None,
) -> ir.Table:
    """Latest known records of one type, dated on or before `as_of` and within retention,
    with only `columns` (plus subject_id)."""
    wanted = dict.fromkeys([*_KEY, "version", "reported_on", "identity_key", *columns])
    typed = records.filter(records.record_type == record_type).select(*wanted)
    usable = latest_records(typed, as_of)
    when = usable[date_column]
    usable = usable.filter(when <= as_of)
    if months is not None:
        usable = usable.filter(when > add_months(as_of, -months))
    return subject_records(usable.select("identity_key", *columns), links)


def _credit_features(records: ir.Table, links: ir.Table, as_of: date) -> ir.Table:
    cols = [
        "furnisher_id",
        "account_id",
        "account_type",
        "date_opened",
        "credit_limit",
        "balance",
        "days_past_due",
        "account_status",
        "reporting_month",
    ]
    rows = _usable(
        records,
        links,
        "credit_account",
        cols,
        as_of,
        "reporting_month",
        retention_months("credit_account"),
    )
    month = rows.reporting_month
    dpd = (rows.account_status == HARDSHIP_STATUS).ifelse(0, rows.days_past_due.fill_null(0))
    in12 = month > add_months(as_of, -12)
    in24 = month > add_months(as_of, -24)
    in36 = month > add_months(as_of, -36)
    accounts = rows.group_by(["subject_id", "furnisher_id", "account_id"]).agg(
        worst12=dpd.max(where=in12),
        worst24=dpd.max(where=in24),
        worst36=dpd.max(where=in36),
        late30=(in24 & (dpd >= 30)).sum(),
        late60=(in24 & (dpd >= 60)).sum(),
        late90=(in24 & (dpd >= 90)).sum(),
        last_late=_month_index(month).max(where=dpd >= 30),
        opened=rows.date_opened.min(),
        derogatory=rows.account_status.isin(DEROGATORY_STATUSES).any(),
        status=_latest_str(rows.account_status, month),
        balance=_latest_int(rows.balance, month),
        lim=_latest_int(rows.credit_limit, month),
        kind=_latest_str(rows.account_type, month),
        n_rows=rows.count(),
    )
    a = accounts
    is_open = ~a.status.isin(CLOSED_STATUSES)
    revolving = is_open & a.kind.isin(REVOLVING_ACCOUNT_TYPES) & (a.lim > 0)
    limit_sum = a.lim.sum(where=revolving)
    opened_ok = a.opened <= as_of
    return a.group_by("subject_id").agg(
        worst_dpd_12m=a.worst12.max().fill_null(0),
        worst_dpd_24m=a.worst24.max().fill_null(0),
        worst_dpd_36m=a.worst36.max().fill_null(0),
        late30_count_24m=a.late30.sum(),
        late60_count_24m=a.late60.sum(),
        late90_count_24m=a.late90.sum(),
        months_since_delinquency=(_month_index_of(as_of) - a.last_late.max()).fill_null(
            NEVER_DELINQUENT_MONTHS
        ),
        utilisation=(
            a.balance.sum(where=revolving).cast("float64") / limit_sum.nullif(0).cast("float64")
        ),
        total_balance=a.balance.sum(where=is_open).fill_null(0),
        open_accounts=is_open.sum(),
        credit_history_months=_month_index_of(as_of) - _month_index(a.opened).min(),
        accounts_opened_6m=(opened_ok & (a.opened > add_months(as_of, -6))).sum(),
        accounts_opened_12m=(opened_ok & (a.opened > add_months(as_of, -12))).sum(),
        derogatory_accounts=a.derogatory.sum(),
        first_credit=_month_index(a.opened).min(),
        n_credit_account=a.n_rows.sum(),
    )


def _invoice_features(records: ir.Table, links: ir.Table, as_of: date) -> ir.Table:
    rows = _usable(
        records,
        links,
        "invoice_payment",
        ["due_date", "paid_date"],
        as_of,
        "due_date",
        retention_months("invoice_payment"),
    )
    recent = rows.due_date > add_months(as_of, -12)
    paid_by_as_of = rows.paid_date.notnull() & (rows.paid_date <= as_of)
    late = (paid_by_as_of & (rows.paid_date > rows.due_date)) | (
        ~paid_by_as_of & (rows.due_date < as_of)
    )
    n_recent = recent.sum()
    return rows.group_by("subject_id").agg(
        invoices_12m=n_recent,
        late_invoice_share_12m=(recent & late).sum().cast("float64")
        / n_recent.nullif(0).cast("float64"),
        first_invoice=_month_index(rows.due_date).min(),
        n_invoice_payment=rows.count(),
    )


def _judgment_features(records: ir.Table, links: ir.Table, as_of: date) -> ir.Table:
    rows = _usable(
        records,
        links,
        "court_judgment",
        ["judgment_date", "amount", "date_satisfied"],
        as_of,
        "judgment_date",
        retention_months("court_judgment"),
    )
    unpaid = rows.date_satisfied.isnull() | (rows.date_satisfied > as_of)
    return rows.group_by("subject_id").agg(
        unsatisfied_judgments=unpaid.sum(),
        unsatisfied_judgment_amount=rows.amount.sum(where=unpaid).fill_null(0),
        first_judgment=_month_index(rows.judgment_date).min(),
        n_court_judgment=rows.count(),
    )


def _finding_features(records: ir.Table, links: ir.Table, as_of: date) -> ir.Table:
    rows = _usable(
        records,
        links,
        "judgment_default_finding",
        ["finding_date", "term_months", "date_removed"],
        as_of,
        "finding_date",
        retention_months("judgment_default_finding"),
    )
    # In force while as_of is before finding_date + term_months (compared as month index and
    # day, which every engine can do without interval arithmetic on a column).
    ends = (_month_index(rows.finding_date) + rows.term_months.fill_null(0)) * 100 + (
        rows.finding_date.day().cast("int64")
    )
    in_term = ends > _month_index_of(as_of) * 100 + as_of.day
    not_removed = rows.date_removed.isnull() | (rows.date_removed > as_of)
    return rows.group_by("subject_id").agg(
        active_default_findings=(in_term & not_removed).sum(),
        first_finding=_month_index(rows.finding_date).min(),
        n_judgment_default_finding=rows.count(),
    )


def _bankruptcy_features(records: ir.Table, links: ir.Table, as_of: date) -> ir.Table:
    rows = _usable(
        records,
        links,
        "bankruptcy",
        ["filed_date"],
        as_of,
        "filed_date",
        retention_months("bankruptcy"),
    )
    return rows.group_by("subject_id").agg(
        bankruptcies_10y=rows.count(),
        first_bankruptcy=_month_index(rows.filed_date).min(),
        n_bankruptcy=rows.count(),
    )


def _penalty_features(records: ir.Table, links: ir.Table, as_of: date) -> ir.Table:
    rows = _usable(
        records,
        links,
        "administrative_penalty",
        ["penalty_date", "severity"],
        as_of,
        "penalty_date",
        retention_months("administrative_penalty"),
    )
    cutoff = ibis.cases(
        *[
            (rows.severity == severity, ibis.literal(add_months(as_of, -months)))
            for severity, months in PENALTY_RETENTION_MONTHS.items()
        ],
        else_=ibis.literal(add_months(as_of, -retention_months("administrative_penalty"))),
    )
    rows = rows.filter(rows.penalty_date > cutoff)
    return rows.group_by("subject_id").agg(
        penalties_serious=(rows.severity == "serious").sum(),
        penalties_general=(rows.severity == "general").sum(),
        penalties_minor=(rows.severity == "minor").sum(),
        first_penalty=_month_index(rows.penalty_date).min(),
        n_administrative_penalty=rows.count(),
    )


def _tax_features(records: ir.Table, links: ir.Table, as_of: date) -> ir.Table:
    rows = _usable(
        records,
        links,
        "tax_compliance",
        ["furnisher_id", "tax_period", "filed_on_time", "arrears"],
        as_of,
        "tax_period",
        retention_months("tax_compliance"),
    )
    late = rows.filed_on_time.notnull() & ~rows.filed_on_time
    # each tax office's returns are filings of their own: every late one counts
    main = rows.group_by("subject_id").agg(
        tax_late_filings_24m=(late & (rows.tax_period > add_months(as_of, -24))).sum(),
        first_tax=_month_index(rows.tax_period).min(),
        n_tax_compliance=rows.count(),
    )
    owed = _owed_by_all(rows, rows.tax_period, "tax_arrears")
    return _with_owed(main, owed, "tax_arrears")


def _owed_by_all(rows: ir.Table, period: ir.DateValue, name: str) -> ir.Table:
    """Per subject, the sum over furnishers of what each reported owed at its own latest
    period: two agencies' arrears add up; one agency's older months do not."""
    latest = rows.group_by(["subject_id", "furnisher_id"]).agg(
        owed=_latest_int(rows.arrears.fill_null(0), period)
    )
    return latest.group_by("subject_id").agg(**{name: latest.owed.sum()})


def _with_owed(main: ir.Table, owed: ir.Table, name: str) -> ir.Table:
    joined = main.left_join(owed, "subject_id")
    return joined.select(*[c for c in main.columns], **{name: joined[name].fill_null(0)})


def _social_features(records: ir.Table, links: ir.Table, as_of: date) -> ir.Table:
    rows = _usable(
        records,
        links,
        "social_insurance",
        ["furnisher_id", "contribution_month", "paid_on_time", "deferral_agreed", "arrears"],
        as_of,
        "contribution_month",
        retention_months("social_insurance"),
    )
    # an agreed deferral is relief, not a delinquency (like a hardship arrangement)
    late = rows.paid_on_time.notnull() & ~rows.paid_on_time & ~rows.deferral_agreed.fill_null(False)
    recent = rows.contribution_month > add_months(as_of, -24)
    main = rows.group_by("subject_id").agg(
        # months, not reports: a month two agencies report late is one late month
        contribution_late_months_24m=rows.contribution_month.nunique(where=late & recent),
        first_social=_month_index(rows.contribution_month).min(),
        n_social_insurance=rows.count(),
    )
    owed = _owed_by_all(rows, rows.contribution_month, "contribution_arrears")
    return _with_owed(main, owed, "contribution_arrears")


_PARTS = (
    _credit_features,
    _invoice_features,
    _judgment_features,
    _finding_features,
    _bankruptcy_features,
    _penalty_features,
    _tax_features,
    _social_features,
)


def _spine(records: ir.Table, links: ir.Table, as_of: date) -> ir.Table:
    """Every subject with at least one record known at `as_of`, with its kind."""
    known = records.filter(records.reported_on <= as_of)
    per_key = known.group_by("identity_key").agg(subject_kind=known.subject_kind.max())
    linked = subject_records(per_key, links)
    return linked.group_by("subject_id").agg(subject_kind=linked.subject_kind.max())


def build_features(records: ir.Table, links: ir.Table, as_of: date) -> ir.Table:
    """One row per subject with any record known at `as_of`: `subject_id`, `subject_kind`,
    every feature in `features.rules.FEATURES`, `n_<record_type>` (usable records of each
    scored type), `n_<pillar>` per pillar, `record_count` and `history_months` (months from the
    oldest usable record's date to `as_of`; null when no usable record)."""
    table = _spine(records, links, as_of)
    for part in _PARTS:
        agg = part(records, links, as_of)
        table = table.left_join(agg, "subject_id").drop("subject_id_right")
    counts = {f"n_{rt}": table[f"n_{rt}"].fill_null(0) for rt in SCORED_RECORD_TYPES}
    firsts = [
        table[c]
        for c in (
            "first_credit",
            "first_invoice",
            "first_judgment",
            "first_finding",
            "first_bankruptcy",
            "first_penalty",
            "first_tax",
            "first_social",
        )
    ]
    fills = {
        name: table[name].fill_null(0)
        for name in (
            "worst_dpd_12m",
            "worst_dpd_24m",
            "worst_dpd_36m",
            "late30_count_24m",
            "late60_count_24m",
            "late90_count_24m",
            "total_balance",
            "open_accounts",
            "accounts_opened_6m",
            "accounts_opened_12m",
            "derogatory_accounts",
            "invoices_12m",
            "unsatisfied_judgments",
            "unsatisfied_judgment_amount",
            "active_default_findings",
            "bankruptcies_10y",
            "penalties_serious",
            "penalties_general",
            "penalties_minor",
            "tax_late_filings_24m",
            "tax_arrears",
            "contribution_late_months_24m",
            "contribution_arrears",
        )
    }
    fills["months_since_delinquency"] = table.months_since_delinquency.fill_null(
        NEVER_DELINQUENT_MONTHS
    )
    table = table.mutate(
        **fills,
        **counts,
        history_months=_month_index_of(as_of) - ibis.least(*firsts),
    )
    pillars = {}
    for pillar in ("commercial", "judicial", "societal", "government"):
        types = pillar_record_types(pillar)
        total = ibis.literal(0, type="int64")
        for rt in types:
            total = total + table[f"n_{rt}"]
        pillars[f"n_{pillar}"] = total
    record_count = ibis.literal(0, type="int64")
    for rt in SCORED_RECORD_TYPES:
        record_count = record_count + table[f"n_{rt}"]
    table = table.mutate(**pillars, record_count=record_count)
    return table.drop(*[c for c in table.columns if c.startswith("first_")])


def outcomes(records: ir.Table, links: ir.Table, as_of: date, horizon_months: int = 12) -> ir.Table:
    """Per subject observed in the window (as_of, as_of + horizon]: `bad` = 1 when any credit
    account was reported 90+ days past due (outside hardship) or written off in a month of the
    window, or a judgment default finding is dated in the window; else 0.

    Observed means: at least one credit-account month or default finding in the window.
    Subjects with neither (no credit reported then) get no row and are left out of training.
    Uses the latest version of every record in `records` (pass records known at the scoring
    date, never later)."""
    end = add_months(as_of, horizon_months)
    latest = latest_records(records)
    credit = latest.filter(
        (latest.record_type == "credit_account")
        & (latest.reporting_month > as_of)
        & (latest.reporting_month <= end)
    )
    is_bad = (
        (credit.days_past_due.fill_null(0) >= 90) & (credit.account_status != HARDSHIP_STATUS)
    ) | (credit.account_status == "written_off")
    credit_bad = credit.select("identity_key", bad=is_bad.cast("int8"))
    finding = latest.filter(
        (latest.record_type == "judgment_default_finding")
        & (latest.finding_date > as_of)
        & (latest.finding_date <= end)
    )
    finding_bad = finding.select("identity_key", bad=ibis.literal(1, type="int8"))
    both = subject_records(credit_bad.union(finding_bad), links)
    return both.group_by("subject_id").agg(bad=both.bad.max())
