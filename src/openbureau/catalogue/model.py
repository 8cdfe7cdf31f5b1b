"""Record types and their fields. This module *is* the published catalogue: a column that is
not named here is refused at ingestion.

Every furnished row carries the common columns, the identity columns (who the record is about,
as the furnisher knows them) and the columns of its own record type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

CATALOGUE_VERSION = "2026.1"

FieldKind = Literal["string", "code", "date", "month", "int", "money", "currency", "bool"]

PILLARS: dict[str, str] = {
    "commercial": "Commercial integrity",
    "judicial": "Judicial credibility",
    "societal": "Societal integrity",
    "government": "Integrity in government affairs",
}

SUBJECT_KINDS = ("person", "organisation")

FURNISHER_KINDS: dict[str, str] = {
    "bank": "Licensed bank",
    "lender": "Non-bank lender (NBFC, microfinance, consumer finance)",
    "court": "Court",
    "tax_office": "Tax authority",
    "regulator": "Administrative regulator",
    "utility": "Utility or telecom provider",
    "social_security": "Social insurance or provident fund agency",
    "marketplace": "Trade creditor or marketplace",
}


@dataclass(frozen=True)
class Field:
    """One column. `codes` closes the set of values for kind "code"."""

    name: str
    kind: FieldKind
    description: str
    required: bool = False
    codes: tuple[str, ...] = ()
    minimum: int | None = None


@dataclass(frozen=True)
class RecordType:
    name: str
    pillar: str
    description: str
    legal_basis: str
    furnisher_kinds: tuple[str, ...]
    retention_months: int
    public: bool
    fields: tuple[Field, ...] = field(default_factory=tuple)
    #: the field whose date starts the retention clock (None: `reported_on`)
    retention_from: str | None = None

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


COMMON_COLUMNS: tuple[Field, ...] = (
    Field("record_type", "code", "Which record type the row is.", required=True),
    Field("record_id", "string", "The furnisher's own identifier for the record.", required=True),
    Field("reported_on", "date", "The date the furnisher reported the record.", required=True),
    Field(
        "version",
        "int",
        "Correction number; a higher version supersedes a lower one. Default 1.",
        minimum=1,
    ),
)

IDENTITY_COLUMNS: tuple[Field, ...] = (
    Field("subject_kind", "code", "person or organisation.", required=True, codes=SUBJECT_KINDS),
    Field("given_name", "string", "A person's given name."),
    Field("family_name", "string", "A person's family name."),
    Field("org_name", "string", "An organisation's registered name."),
    Field("date_of_birth", "date", "A person's date of birth."),
    Field(
        "national_id_scheme",
        "code",
        "Scheme of national_id.",
        codes=("CN-RIC", "CN-USCC", "IN-PAN", "IN-AADHAAR", "IN-GSTIN"),
    ),
    Field("national_id", "string", "National identifier; checked, then kept only as a token."),
    Field("address_line1", "string", "First address line."),
    Field("address_line2", "string", "Second address line."),
    Field("city", "string", "City or town."),
    Field("region", "string", "Province, state or region."),
    Field("postcode", "string", "Postal code."),
    Field("country", "string", "ISO 3166-1 alpha-2 country code."),
)

_MONEY_NOTE = "Integer minor units (fen, paise, cents)."

ACCOUNT_TYPES = (
    "personal_loan",
    "home_loan",
    "auto_loan",
    "credit_card",
    "business_loan",
    "overdraft",
    "microfinance",
)
ACCOUNT_STATUSES = (
    "current",
    "delinquent",
    "closed",
    "written_off",
    "settled",
    "hardship",
)
DEFAULT_GROUNDS = (
    "refuses_with_ability",
    "evades_enforcement",
    "false_declaration_of_assets",
    "obstructs_enforcement",
    "violates_spending_restriction",
)
VIOLATION_CATEGORIES = (
    "tax",
    "environment",
    "food_safety",
    "product_quality",
    "labour",
    "market_competition",
    "financial_regulation",
    "transport_safety",
    "construction",
    "customs",
)
SEVERITIES = ("minor", "general", "serious")
INVOICE_KINDS = ("electricity", "water", "gas", "telecom", "trade")
BANKRUPTCY_KINDS = ("liquidation", "reorganisation", "insolvency_resolution")

_PROFILE = RecordType(
    name="profile",
    pillar="commercial",
    description="A furnisher's statement of who its customer is: identity only.",
    legal_basis="Contract with the data subject; CIC Act 2005 s.17; PIPL art.13(2).",
    furnisher_kinds=("bank", "lender", "utility", "marketplace", "tax_office", "social_security"),
    retention_months=120,
    public=False,
    fields=(
        Field("legal_representative", "string", "An organisation's legal representative."),
        Field("public_body", "bool", "True when the organisation is a public body."),
    ),
)

_CREDIT_ACCOUNT = RecordType(
    name="credit_account",
    pillar="commercial",
    description="One month's status of a loan or card account.",
    legal_basis="CIC Act 2005 s.15; PBOC Credit Reporting Regulation art.14; FCRA s.623.",
    furnisher_kinds=("bank", "lender"),
    retention_months=84,
    public=False,
    retention_from="reporting_month",
    fields=(
        Field("account_id", "string", "The furnisher's account number.", required=True),
        Field("account_type", "code", "Kind of credit.", required=True, codes=ACCOUNT_TYPES),
        Field("date_opened", "date", "Date the account was opened.", required=True),
        Field("credit_limit", "money", "Limit or sanctioned amount. " + _MONEY_NOTE, minimum=0),
        Field("balance", "money", "Balance owed. " + _MONEY_NOTE, required=True, minimum=0),
        Field("amount_past_due", "money", "Amount past due. " + _MONEY_NOTE, minimum=0),
        Field("days_past_due", "int", "Days past due at month end.", required=True, minimum=0),
        Field("account_status", "code", "Status.", required=True, codes=ACCOUNT_STATUSES),
        Field("reporting_month", "month", "The month reported (YYYY-MM).", required=True),
        Field("currency", "currency", "ISO 4217 code of the amounts.", required=True),
    ),
)

_INVOICE = RecordType(
    name="invoice_payment",
    pillar="commercial",
    description="A utility or trade invoice and when it was paid.",
    legal_basis="Contract with the data subject; CIC Act 2005 s.17.",
    furnisher_kinds=("utility", "marketplace"),
    retention_months=84,
    public=False,
    retention_from="due_date",
    fields=(
        Field(
            "invoice_kind", "code", "What the invoice is for.", required=True, codes=INVOICE_KINDS
        ),
        Field("due_date", "date", "Date payment was due.", required=True),
        Field("paid_date", "date", "Date it was paid; empty while unpaid."),
        Field("amount", "money", "Invoice amount. " + _MONEY_NOTE, required=True, minimum=0),
        Field("currency", "currency", "ISO 4217 code of the amount.", required=True),
    ),
)

_JUDGMENT = RecordType(
    name="court_judgment",
    pillar="judicial",
    description="A civil money judgment against the subject.",
    legal_basis="Public court record; SPC Provisions on Publishing Judgment Defaulters.",
    furnisher_kinds=("court",),
    retention_months=84,
    public=True,
    retention_from="judgment_date",
    fields=(
        Field("court", "string", "The court.", required=True),
        Field("case_number", "string", "Case number.", required=True),
        Field("judgment_date", "date", "Date of judgment.", required=True),
        Field("amount", "money", "Amount awarded. " + _MONEY_NOTE, required=True, minimum=0),
        Field("currency", "currency", "ISO 4217 code of the amount.", required=True),
        Field("date_satisfied", "date", "Date the judgment was paid; empty while unpaid."),
    ),
)

_DEFAULT_FINDING = RecordType(
    name="judgment_default_finding",
    pillar="judicial",
    description="A court's finding that a judgment debtor able to pay refuses to.",
    legal_basis="SPC Provisions on Publishing Judgment Defaulters (2017) arts.1-2, 6.",
    furnisher_kinds=("court",),
    retention_months=60,
    public=True,
    retention_from="finding_date",
    fields=(
        Field("court", "string", "The court.", required=True),
        Field("case_number", "string", "Case number.", required=True),
        Field(
            "ground", "code", "Legal ground of the finding.", required=True, codes=DEFAULT_GROUNDS
        ),
        Field("finding_date", "date", "Date of the finding.", required=True),
        Field("term_months", "int", "Term of the finding in months.", required=True, minimum=1),
        Field("date_removed", "date", "Date removed (satisfied, revoked or expired)."),
    ),
)

_PENALTY = RecordType(
    name="administrative_penalty",
    pillar="government",
    description="A final administrative penalty decided by a competent authority.",
    legal_basis="Administrative Penalty Law art.48 (publication); State Council Guiding "
    "Opinions on credit repair (2021).",
    furnisher_kinds=("regulator", "tax_office"),
    # The longest term (serious); minor and general expire sooner (see retention rules).
    retention_months=36,
    public=True,
    retention_from="penalty_date",
    fields=(
        Field("authority", "string", "The authority that decided.", required=True),
        Field(
            "violation_category",
            "code",
            "Category of violation.",
            required=True,
            codes=VIOLATION_CATEGORIES,
        ),
        Field("severity", "code", "minor, general or serious.", required=True, codes=SEVERITIES),
        Field("penalty_date", "date", "Date of the decision.", required=True),
        Field("amount", "money", "Fine. " + _MONEY_NOTE, minimum=0),
        Field("currency", "currency", "ISO 4217 code of the amount."),
    ),
)

_TAX = RecordType(
    name="tax_compliance",
    pillar="government",
    description="Whether a tax return for a period was filed on time, and arrears owed.",
    legal_basis="Tax Collection Administration Law art.45; tax credit rating rules.",
    furnisher_kinds=("tax_office",),
    retention_months=84,
    public=False,
    retention_from="tax_period",
    fields=(
        Field("tax_period", "month", "The period (YYYY-MM).", required=True),
        Field("filed_on_time", "bool", "True if the return was filed on time.", required=True),
        Field("arrears", "money", "Tax owed and unpaid. " + _MONEY_NOTE, minimum=0),
        Field("currency", "currency", "ISO 4217 code of the amount."),
    ),
)

_SOCIAL = RecordType(
    name="social_insurance",
    pillar="societal",
    description="Whether the social insurance contributions due for a month were paid on time, "
    "and the contributions owed: an employer's for its staff, or a self-employed person's own.",
    legal_basis="Social Insurance Law arts.58, 60, 63, 86 (registration, payment, recovery of "
    "arrears); Employees' Provident Funds Act 1952 s.6; ESI Act 1948 s.39.",
    furnisher_kinds=("social_security",),
    retention_months=84,
    public=False,
    retention_from="contribution_month",
    fields=(
        Field(
            "contribution_month", "month", "The month the contributions are for (YYYY-MM).",
            required=True,
        ),
        Field(
            "paid_on_time", "bool", "True if the month's contributions were paid when due.",
            required=True,
        ),
        Field(
            "deferral_agreed", "bool",
            "True when the agency agreed to defer the month's contributions (hardship relief): "
            "a deferred month is not a late one.",
        ),
        Field("arrears", "money", "Contributions owed and unpaid. " + _MONEY_NOTE, minimum=0),
        Field("currency", "currency", "ISO 4217 code of the amount."),
    ),
)  # fmt: skip

_BANKRUPTCY = RecordType(
    name="bankruptcy",
    pillar="judicial",
    description="A bankruptcy or insolvency proceeding.",
    legal_basis="Enterprise Bankruptcy Law; Insolvency and Bankruptcy Code 2016; FCRA s.605.",
    furnisher_kinds=("court",),
    retention_months=120,
    public=True,
    retention_from="filed_date",
    fields=(
        Field("court", "string", "The court.", required=True),
        Field("case_number", "string", "Case number.", required=True),
        Field("proceeding", "code", "Kind of proceeding.", required=True, codes=BANKRUPTCY_KINDS),
        Field("filed_date", "date", "Date the proceeding opened.", required=True),
        Field("discharged_date", "date", "Date of discharge or closure."),
    ),
)

RECORD_TYPES: dict[str, RecordType] = {
    rt.name: rt
    for rt in (
        _PROFILE,
        _CREDIT_ACCOUNT,
        _INVOICE,
        _JUDGMENT,
        _DEFAULT_FINDING,
        _PENALTY,
        _TAX,
        _SOCIAL,
        _BANKRUPTCY,
    )
}


def record_type(name: str) -> RecordType:
    """The record type called `name`; KeyError names the known ones."""
    try:
        return RECORD_TYPES[name]
    except KeyError:
        raise KeyError(f"unknown record type {name!r}; known: {', '.join(RECORD_TYPES)}") from None


def all_input_columns() -> dict[str, Field]:
    """Every column a furnisher may send, by name. A type field shared by several record types
    (e.g. `currency`, `court`) appears once, with the first definition."""
    out: dict[str, Field] = {}
    for f in COMMON_COLUMNS + IDENTITY_COLUMNS:
        out[f.name] = f
    for rt in RECORD_TYPES.values():
        for f in rt.fields:
            out.setdefault(f.name, f)
    return out
