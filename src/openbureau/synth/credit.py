"""Credit accounts: who holds which account where, and how each account's days past due move
month by month (a Markov chain driven by the holder's current risk).

States: current (0 days past due), 30, 60, 90, 120+ days past due, hardship (an agreed
arrangement, not a delinquency), and the terminal closed, settled and written_off."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from openbureau.catalogue.model import ACCOUNT_STATUSES, ACCOUNT_TYPES
from openbureau.synth.records import Batch, ids, iso, money, pick
from openbureau.synth.rules import sigmoid

CURRENT, DELINQUENT, CLOSED, WRITTEN_OFF, SETTLED, HARDSHIP = (
    ACCOUNT_STATUSES.index(s)
    for s in ("current", "delinquent", "closed", "written_off", "settled", "hardship")
)
T = {name: i for i, name in enumerate(ACCOUNT_TYPES)}
#: per account type: median limit (CNY), spread (log sd), term range in months (0 revolving),
#: risk offset (secured loans are paid first, microfinance borrowers are riskier)
TERMS = {
    "personal_loan": (50_000, 0.7, 12, 60, 0.0),
    "home_loan": (900_000, 0.5, 120, 360, -0.6),
    "auto_loan": (150_000, 0.4, 36, 84, -0.2),
    "credit_card": (20_000, 0.6, 0, 0, 0.0),
    "business_loan": (800_000, 1.0, 12, 84, 0.1),
    "overdraft": (40_000, 0.6, 0, 0, 0.1),
    "microfinance": (8_000, 0.5, 6, 24, 0.3),
}
INR_PER_CNY = 8.0
WRITTEN_OFF_REPORTS = 3


@dataclass
class Accounts:
    subj: np.ndarray
    furn: np.ndarray
    rel: np.ndarray
    kind: np.ndarray  # index into ACCOUNT_TYPES
    open_t: np.ndarray  # window month opened (negative: before the window)
    term: np.ndarray
    limit: np.ndarray  # major units
    util: np.ndarray  # usual utilisation of revolving credit
    offset: np.ndarray  # risk offset of the product and furnisher
    account_id: pa.Array
    date_opened: pa.Array
    currency: pa.Array
    dpd: np.ndarray
    status: np.ndarray
    hardship_left: np.ndarray
    report_left: np.ndarray
    done: np.ndarray
    balance: np.ndarray


def open_accounts(
    rng: np.random.Generator,
    subj: np.ndarray,
    furn: np.ndarray,
    kind: np.ndarray,
    open_t: np.ndarray,
    z0: np.ndarray,
    is_lender: np.ndarray,
    indian: np.ndarray,
    first_month: np.datetime64,
) -> Accounts:
    """Accounts with their fixed terms, all in the current state."""
    n = len(subj)
    spec = np.array([TERMS[k] for k in ACCOUNT_TYPES], dtype=np.float64)[kind]
    median, spread, lo, hi, offset = spec.T
    limit = median * np.exp(rng.normal(0, 1, n) * spread - 0.12 * (z0 + 4.45))
    limit = np.round(limit * np.where(indian, INR_PER_CNY, 1.0), -2)
    term = np.where(hi > 0, rng.integers(0, 1 << 30, n) % np.maximum(hi - lo + 1, 1) + lo, 0)
    term = np.where(hi > 0, np.round(term / 6) * 6, 0).astype(np.int64)
    util = np.clip(0.9 * sigmoid(z0 + 3.6 + rng.normal(0, 0.6, n)) + 0.03, 0.0, 1.0)
    opened = (first_month.astype("datetime64[M]") + open_t).astype("datetime64[D]")
    opened = opened + rng.integers(0, 28, n)
    seq = np.arange(n)
    return Accounts(
        subj=subj,
        furn=furn,
        rel=np.full(n, -1),
        kind=kind,
        open_t=open_t,
        term=term,
        limit=limit,
        util=util,
        offset=offset + 0.3 * is_lender,
        account_id=ids("AC", seq, 9),
        date_opened=iso(opened),
        currency=pick(("CNY", "INR"), indian.astype(np.int64)),
        dpd=np.zeros(n, np.int64),
        status=np.full(n, CURRENT, np.int64),
        hardship_left=np.zeros(n, np.int64),
        report_left=np.zeros(n, np.int64),
        done=np.zeros(n, bool),
        balance=np.zeros(n),
    )


def step_accounts(acc: Accounts, t: int, z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Move every open account one month on to month `t`; `z` is each holder's risk now.

    Returns the indices of accounts written off this month."""
    terminal = np.isin(acc.status, (CLOSED, WRITTEN_OFF, SETTLED)) & ~acc.done
    acc.done |= terminal & (acc.report_left <= 0)
    acc.report_left[terminal] -= 1
    live = np.flatnonzero(
        (acc.open_t < t) & ~acc.done & ~np.isin(acc.status, (CLOSED, WRITTEN_OFF, SETTLED))
    )
    zz = z[acc.subj[live]] + acc.offset[live]
    dpd = acc.dpd[live]
    status = acc.status[live]
    left = acc.hardship_left[live]
    u = rng.random(len(live))
    u2 = rng.random(len(live))
    good = sigmoid(-0.9 * (zz + 4.45))  # propensity to pay back up, about 0.5 at median risk

    cur = status == CURRENT
    age = t - acc.open_t[live]
    term = acc.term[live]
    matured = cur & (term > 0) & (age >= term)
    closes = cur & (term == 0) & (u2 < 0.012)
    miss = cur & ~matured & ~closes & (u < sigmoid(zz - 0.3))
    new_status = np.where(matured | closes, CLOSED, status)
    new_dpd = np.where(miss, 30, dpd)
    new_status = np.where(miss, DELINQUENT, new_status)

    early = (status == DELINQUENT) & (dpd < 120)
    p_cure = sigmoid(-0.9 * (zz + 4.45) + 0.7)
    p_hard = np.where(dpd <= 60, 0.05, 0.0)
    p_roll = (1 - p_cure - p_hard) * 0.75
    cure = early & (u < p_cure)
    hard = early & ~cure & (u < p_cure + p_hard)
    roll = early & ~cure & ~hard & (u < p_cure + p_hard + p_roll)
    new_dpd = np.where(cure | hard, 0, np.where(roll, dpd + 30, new_dpd))
    new_status = np.where(cure, CURRENT, np.where(hard, HARDSHIP, new_status))
    left = np.where(hard, 3 + (u2 * 4).astype(np.int64), left)

    late = (status == DELINQUENT) & (dpd >= 120)
    write = late & (u < 0.18)
    settle = late & ~write & (u < 0.22)
    back = late & ~write & ~settle & (u < 0.22 + 0.1 * good)
    new_status = np.where(
        write, WRITTEN_OFF, np.where(settle, SETTLED, np.where(back, CURRENT, new_status))
    )
    new_dpd = np.where(
        back, 0, np.where(late & ~write & ~settle, np.minimum(dpd + 30, 180), new_dpd)
    )

    in_hard = status == HARDSHIP
    left = np.where(in_hard, left - 1, left)
    ends = in_hard & (left <= 0)
    recovers = ends & (u < sigmoid(-(zz + 4.45) + 1.5))
    new_status = np.where(recovers, CURRENT, np.where(ends, DELINQUENT, new_status))
    new_dpd = np.where(ends & ~recovers, 30, new_dpd)

    acc.dpd[live] = new_dpd
    acc.status[live] = new_status
    acc.hardship_left[live] = left
    acc.report_left[live] = np.where(write, WRITTEN_OFF_REPORTS, 0)
    return live[write]


def report_accounts(
    acc: Accounts, t: int, month_first: np.datetime64, rng: np.random.Generator
) -> Batch:
    """The month's row of every account open in month `t` (including the month it closes)."""
    idx = np.flatnonzero((acc.open_t <= t) & ~acc.done)
    limit = acc.limit[idx]
    term = acc.term[idx]
    age = np.maximum(t - acc.open_t[idx], 0)
    dpd = acc.dpd[idx]
    status = acc.status[idx]
    installment = np.where(term > 0, limit / np.maximum(term, 1) * 1.08, 0)
    scheduled = limit * np.clip(1 - age / np.maximum(term, 1), 0.02, 1)
    util = np.clip(acc.util[idx] + rng.normal(0, 0.06, len(idx)) + 0.15 * (dpd > 0), 0, 1.05)
    revolving = limit * util
    balance = np.where(term > 0, scheduled + installment * dpd / 30, revolving)
    balance = np.round(
        np.where(status == WRITTEN_OFF, np.maximum(acc.balance[idx], balance), balance), -1
    )
    balance = np.where(np.isin(status, (CLOSED, SETTLED)), 0, balance)
    minimum = np.where(term > 0, installment, np.maximum(0.05 * revolving, 0.01 * limit))
    past_due = np.where(
        status == WRITTEN_OFF, balance, np.minimum(balance, np.round(minimum * dpd / 30, -1))
    )
    acc.balance[idx] = balance
    last = (np.datetime64(month_first, "M") + 1).astype("datetime64[D]") - 1
    month_label = str(np.datetime64(month_first, "M"))
    ia = pa.array(idx)
    account_id = acc.account_id.take(ia)
    return Batch(
        "credit_account",
        acc.furn[idx],
        acc.subj[idx],
        acc.rel[idx],
        record_id=pc.binary_join_element_wise(account_id, month_label.replace("-", ""), "-"),
        reported_on=np.full(len(idx), last),
        fields={
            "account_id": account_id,
            "account_type": pick(ACCOUNT_TYPES, acc.kind[idx]),
            "date_opened": acc.date_opened.take(ia),
            "credit_limit": money(limit),
            "balance": money(balance),
            "amount_past_due": money(past_due),
            "days_past_due": pa.array(dpd.astype(np.int64)),
            "account_status": pick(ACCOUNT_STATUSES, status),
            "reporting_month": pa.repeat(month_label, len(idx)),
            "currency": acc.currency.take(ia),
        },
    )
