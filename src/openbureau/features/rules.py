"""The published feature catalogue: every characteristic the score may use, with its pillar,
its meaning, and the plain sentence shown when it costs points.

Pure data. A feature's pillar is its record type's pillar in the catalogue, so the two never
drift. No feature describes a person's associations, location, opinions or habits: only
obligations (credit, invoices, taxes, social insurance contributions) and findings of a
competent authority.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from openbureau.catalogue.model import PILLARS, RECORD_TYPES

#: How the risk of default moves as the feature grows: "ascending" (more is riskier),
#: "descending" (more is safer) or "auto_asc_desc" (the data decides, still monotone).
Trend = Literal["ascending", "descending", "auto_asc_desc"]

#: Months-since value given when a subject has never been 30+ days late (in retention).
NEVER_DELINQUENT_MONTHS = 999

#: Only the latest status of these account types counts towards revolving utilisation.
REVOLVING_ACCOUNT_TYPES = ("credit_card", "overdraft")
#: Statuses that end an account: it no longer counts as open.
CLOSED_STATUSES = ("closed", "written_off", "settled")
#: Statuses that mark a loss to the lender (written off or settled for less).
DEROGATORY_STATUSES = ("written_off", "settled")
#: A hardship arrangement agreed with the lender is not a delinquency.
HARDSHIP_STATUS = "hardship"


@dataclass(frozen=True)
class Feature:
    """One characteristic. `reason` is shown when the value costs points; `missing_reason`
    when the subject has no value for it (e.g. no revolving account) and that costs points.
    `inquiries` marks the count of recent inquiries: when it lowers a score it is always
    given as a reason (the US adverse-action rule), even outside the top four."""

    name: str
    code: str
    record_type: str
    description: str
    reason: str
    trend: Trend
    missing_reason: str | None = None
    inquiries: bool = False

    @property
    def pillar(self) -> str:
        return RECORD_TYPES[self.record_type].pillar


FEATURES: tuple[Feature, ...] = (
    # commercial: credit accounts
    Feature(
        "worst_dpd_12m",
        "C01",
        "credit_account",
        "Worst days past due on any account in the last 12 months (hardship excluded).",
        "Late payments on credit accounts in the last 12 months",
        "ascending",
    ),
    Feature(
        "worst_dpd_24m",
        "C02",
        "credit_account",
        "Worst days past due on any account in the last 24 months (hardship excluded).",
        "Late payments on credit accounts in the last 24 months",
        "ascending",
    ),
    Feature(
        "worst_dpd_36m",
        "C03",
        "credit_account",
        "Worst days past due on any account in the last 36 months (hardship excluded).",
        "Late payments on credit accounts in the last 36 months",
        "ascending",
    ),
    Feature(
        "late30_count_24m",
        "C04",
        "credit_account",
        "Monthly account reports 30 or more days past due in the last 24 months.",
        "Payments 30 or more days late in the last 24 months",
        "ascending",
    ),
    Feature(
        "late60_count_24m",
        "C05",
        "credit_account",
        "Monthly account reports 60 or more days past due in the last 24 months.",
        "Payments 60 or more days late in the last 24 months",
        "ascending",
    ),
    Feature(
        "late90_count_24m",
        "C06",
        "credit_account",
        "Monthly account reports 90 or more days past due in the last 24 months.",
        "Payments 90 or more days late in the last 24 months",
        "ascending",
    ),
    Feature(
        "months_since_delinquency",
        "C07",
        "credit_account",
        f"Months since the last report 30 or more days past due "
        f"({NEVER_DELINQUENT_MONTHS} when never, within retention).",
        "A recent late payment on a credit account",
        "descending",
    ),
    Feature(
        "utilisation",
        "C08",
        "credit_account",
        "Balance over limit on open credit cards and overdrafts, at their latest month.",
        "High use of revolving credit limits",
        "ascending",
        missing_reason="No credit card or overdraft in use",
    ),
    Feature(
        "total_balance",
        "C09",
        "credit_account",
        "Total balance on open accounts at their latest month (minor units).",
        "Amount owed on credit accounts",
        "auto_asc_desc",
    ),
    Feature(
        "open_accounts",
        "C10",
        "credit_account",
        "Number of open credit accounts.",
        "Number of open credit accounts",
        "auto_asc_desc",
    ),
    Feature(
        "credit_history_months",
        "C11",
        "credit_account",
        "Months since the oldest credit account was opened.",
        "Short credit history",
        "descending",
        missing_reason="No credit account on file",
    ),
    Feature(
        "accounts_opened_6m",
        "C12",
        "credit_account",
        "Credit accounts opened in the last 6 months.",
        "Several credit accounts opened in the last 6 months",
        "ascending",
    ),
    Feature(
        "accounts_opened_12m",
        "C13",
        "credit_account",
        "Credit accounts opened in the last 12 months.",
        "Several credit accounts opened in the last 12 months",
        "ascending",
    ),
    Feature(
        "derogatory_accounts",
        "C14",
        "credit_account",
        "Accounts written off or settled for less (within retention).",
        "Credit accounts written off or settled",
        "ascending",
    ),
    # commercial: invoices
    Feature(
        "late_invoice_share_12m",
        "C15",
        "invoice_payment",
        "Share of invoices due in the last 12 months paid after the due date or unpaid.",
        "Invoices paid late or unpaid in the last 12 months",
        "ascending",
        missing_reason="No utility or trade invoices in the last 12 months",
    ),
    Feature(
        "invoices_12m",
        "C16",
        "invoice_payment",
        "Invoices due in the last 12 months.",
        "Number of invoices in the last 12 months",
        "auto_asc_desc",
    ),
    # judicial
    Feature(
        "unsatisfied_judgments",
        "J01",
        "court_judgment",
        "Court money judgments not yet paid.",
        "Unpaid court judgments",
        "ascending",
    ),
    Feature(
        "unsatisfied_judgment_amount",
        "J02",
        "court_judgment",
        "Total amount of unpaid court judgments (minor units).",
        "Amount of unpaid court judgments",
        "ascending",
    ),
    Feature(
        "active_default_findings",
        "J03",
        "judgment_default_finding",
        "Court findings of refusing to pay a judgment, still in force.",
        "A court finding of refusing to pay a judgment is in force",
        "ascending",
    ),
    Feature(
        "bankruptcies_10y",
        "J04",
        "bankruptcy",
        "Bankruptcy or insolvency proceedings opened in the last 10 years.",
        "A bankruptcy or insolvency proceeding in the last 10 years",
        "ascending",
    ),
    # government
    Feature(
        "penalties_serious",
        "G01",
        "administrative_penalty",
        "Serious administrative penalties in the last 36 months.",
        "A serious administrative penalty in the last 3 years",
        "ascending",
    ),
    Feature(
        "penalties_general",
        "G02",
        "administrative_penalty",
        "General administrative penalties in the last 12 months.",
        "An administrative penalty in the last 12 months",
        "ascending",
    ),
    Feature(
        "penalties_minor",
        "G03",
        "administrative_penalty",
        "Minor administrative penalties in the last 3 months.",
        "A minor administrative penalty in the last 3 months",
        "ascending",
    ),
    Feature(
        "tax_late_filings_24m",
        "G04",
        "tax_compliance",
        "Tax periods in the last 24 months whose return was filed late.",
        "Tax returns filed late in the last 24 months",
        "ascending",
    ),
    Feature(
        "tax_arrears",
        "G05",
        "tax_compliance",
        "Tax owed and unpaid, summed over tax offices, each at its latest tax period (minor "
        "units).",
        "Unpaid tax at the latest tax period",
        "ascending",
    ),
    # societal: social insurance contributions
    Feature(
        "contribution_late_months_24m",
        "S01",
        "social_insurance",
        "Months in the last 24 whose social insurance contributions were paid late or not at "
        "all, a month counted once however many agencies report it (months deferred by "
        "agreement excluded).",
        "Social insurance contributions paid late in the last 24 months",
        "ascending",
    ),
    Feature(
        "contribution_arrears",
        "S02",
        "social_insurance",
        "Social insurance contributions owed and unpaid, summed over agencies, each at its "
        "latest month (minor units).",
        "Unpaid social insurance contributions at the latest month",
        "ascending",
    ),
)

FEATURES_BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}

#: The feature flagged as the inquiries factor; None while the lake holds no inquiry records.
INQUIRIES_FEATURE: str | None = next((f.name for f in FEATURES if f.inquiries), None)

#: Record types whose usable records make up the file that is scored (profile is identity only).
SCORED_RECORD_TYPES: tuple[str, ...] = (
    "credit_account",
    "invoice_payment",
    "court_judgment",
    "judgment_default_finding",
    "bankruptcy",
    "administrative_penalty",
    "tax_compliance",
    "social_insurance",
)


def pillar_record_types(pillar: str) -> tuple[str, ...]:
    """The scored record types that belong to `pillar` (empty for a pillar with none yet)."""
    if pillar not in PILLARS:
        raise KeyError(f"unknown pillar {pillar!r}; known: {', '.join(PILLARS)}")
    return tuple(rt for rt in SCORED_RECORD_TYPES if RECORD_TYPES[rt].pillar == pillar)


def feature_names() -> list[str]:
    return [f.name for f in FEATURES]
