"""Recurring obligations and administrative findings: utility and trade invoices, tax
returns and arrears, administrative penalties. Each draws its monthly rows from the subject's
current risk."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from openbureau.catalogue.model import INVOICE_KINDS, SEVERITIES, VIOLATION_CATEGORIES
from openbureau.synth.courts import Schedule
from openbureau.synth.furnishers import FURNISHER_INDEX, FURNISHERS
from openbureau.synth.population import IN, Population
from openbureau.synth.records import Batch, ids, iso, money, month_days, pick
from openbureau.synth.rules import sigmoid

#: usual amount of an invoice (CNY) by kind, for persons and for organisations
INVOICE_AMOUNT = {
    "electricity": (250, 8_000),
    "water": (80, 1_500),
    "gas": (120, 3_000),
    "telecom": (120, 1_500),
    "trade": (2_000, 40_000),
}
_REGULATOR_OF = {
    "tax": "tax-01",
    "food_safety": "regulator-01",
    "product_quality": "regulator-01",
    "market_competition": "regulator-01",
    "financial_regulation": "regulator-01",
    "environment": "regulator-02",
    "labour": "regulator-02",
    "transport_safety": "regulator-02",
    "construction": "regulator-02",
    "customs": "regulator-02",
}
_ORG_CATEGORY_W = np.array([0.2, 0.12, 0.1, 0.1, 0.1, 0.06, 0.06, 0.1, 0.08, 0.08])
_PERSON_CATEGORY_W = np.array([0.3, 0.1, 0.1, 0.02, 0.05, 0.05, 0.0, 0.33, 0.05, 0.0])
_FINE = {0: (500, 5_000), 1: (5_000, 100_000), 2: (100_000, 2_000_000)}


def _first(first_month: np.datetime64, t) -> np.ndarray:
    return (np.datetime64(first_month, "M") + np.asarray(t)).astype("datetime64[D]")


def _currency(pop: Population, subj: np.ndarray) -> pa.Array:
    return pick(("CNY", "INR"), pop.country[subj])


def _inr(pop: Population, subj: np.ndarray, amount: np.ndarray) -> np.ndarray:
    return np.where(pop.country[subj] == IN, amount * 8, amount)


@dataclass
class Invoices:
    """Billing relationships of utilities and the marketplace."""

    rel: np.ndarray
    furn: np.ndarray
    subj: np.ndarray
    start: np.ndarray
    kind: np.ndarray  # index into INVOICE_KINDS
    period: np.ndarray  # months between invoices
    phase: np.ndarray
    due_day: np.ndarray
    base: np.ndarray  # usual amount, major units

    def step(
        self,
        t: int,
        z: np.ndarray,
        pop: Population,
        first: np.datetime64,
        schedule: Schedule,
        rng: np.random.Generator,
    ) -> list[Batch]:
        """Invoices due last month, reported at the end of this month; one paid after the
        report gets a second version in the month it is paid."""
        b = t - 1
        idx = np.flatnonzero((self.start <= b) & ((b - self.phase) % self.period == 0))
        if b < 0 or not len(idx):
            return []
        n = len(idx)
        subj = self.subj[idx]
        zz = z[subj]
        due = month_days(_first(first, b), self.due_day[idx])
        late = rng.random(n) < sigmoid(0.9 * zz + 1.9)
        unpaid = late & (rng.random(n) < sigmoid(zz + 0.2))
        days_late = np.minimum(rng.geometric(1 / (6 + 25 * sigmoid(zz + 3))), 150)
        paid = np.where(late, due + days_late, due - rng.integers(0, 11, n))
        paid = np.where(unpaid, np.datetime64("NaT"), paid)
        report = _first(first, t + 1) - 1
        after = ~unpaid & (paid > report)
        amount = money(self.base[idx] * np.exp(rng.normal(0, 0.25, n)))
        month = str(np.datetime64(_first(first, b)[()], "M")).replace("-", "")
        fields = {
            "invoice_kind": pick(INVOICE_KINDS, self.kind[idx]),
            "due_date": iso(due),
            "paid_date": iso(np.where(after, np.datetime64("NaT"), paid)),
            "amount": amount,
            "currency": _currency(pop, subj),
        }
        rid = ids("IV", self.rel[idx], 9, month)
        batch = Batch(
            "invoice_payment",
            self.furn[idx],
            subj,
            self.rel[idx],
            rid,
            np.full(n, report),
            None,
            fields,
        )
        later = np.flatnonzero(after)
        if len(later):
            second = batch.take(later)
            second.version = np.full(len(later), 2)
            second.reported_on = paid[later]
            second.fields["paid_date"] = iso(paid[later])
            paid_t = (paid[later].astype("datetime64[M]") - np.datetime64(first, "M")).astype(
                np.int64
            )
            schedule.later(paid_t, second)
        return [batch]


def _arrears_after(
    arrears: np.ndarray,
    zz: np.ndarray,
    owed: np.ndarray,
    unpaid: np.ndarray,
    p_add: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Arrears after a period: cleared now and then (more often the safer the subject), then
    grown by what an unpaid period leaves owing (for a share `p_add` of them)."""
    n = len(zz)
    arrears = np.where(rng.random(n) < sigmoid(-(zz + 4.45) + 0.3), 0, arrears)
    return np.round(np.where(unpaid & (rng.random(n) < p_add), arrears + owed, arrears), -1)


def _period_batch(
    record_type: str,
    furnisher_id: str,
    prefix: str,
    rel: np.ndarray,
    subj: np.ndarray,
    month: str,
    fields: dict,
    reported: np.ndarray,
) -> list[Batch]:
    """One period's rows of a relationship kind (tax returns, contributions), the record id
    naming the relationship and the period."""
    rid = ids(prefix, rel, 9, month.replace("-", ""))
    furn = np.full(len(subj), FURNISHER_INDEX[furnisher_id])
    return [Batch(record_type, furn, subj, rel, rid, reported, None, fields)]


@dataclass
class TaxAccounts:
    """Taxpayers registered with the tax office: monthly or quarterly returns, arrears."""

    rel: np.ndarray
    subj: np.ndarray
    start: np.ndarray
    period: np.ndarray  # 1 monthly, 3 quarterly
    arrears: np.ndarray  # major units owed now

    def step(
        self, t: int, z: np.ndarray, pop: Population, first: np.datetime64, rng: np.random.Generator
    ) -> list[Batch]:
        """Returns for last month (or last quarter), reported on the 20th of this month."""
        b = t - 1
        if b < 0:
            return []
        cal_month = int(str(np.datetime64(_first(first, b)[()], "M"))[5:7])
        idx = np.flatnonzero((self.start <= b) & ((self.period == 1) | (cal_month % 3 == 0)))
        if not len(idx):
            return []
        n = len(idx)
        subj = self.subj[idx]
        zz = z[subj]
        late = rng.random(n) < sigmoid(0.8 * zz + 0.9)
        org = pop.kind[subj] == 1
        owed = _inr(pop, subj, np.where(org, 20_000, 3_000) * np.exp(rng.normal(0, 1, n)))
        arrears = _arrears_after(self.arrears[idx], zz, owed, late, 0.5, rng)
        self.arrears[idx] = arrears
        month = str(np.datetime64(_first(first, b)[()], "M"))
        fields = {
            "tax_period": pa.repeat(month, n),
            "filed_on_time": pa.array(~late),
            "arrears": money(arrears),
            "currency": _currency(pop, subj),
        }
        return _period_batch("tax_compliance", "tax-01", "TX", self.rel[idx], subj, month, fields,
                             month_days(_first(first, t), np.full(n, 20)))  # fmt: skip


@dataclass
class SocialInsurance:
    """Contributors registered with the social insurance agency (employers for their staff,
    and self-employed persons): each month's contributions, paid when due or not, deferred by
    agreement now and then, and the arrears they leave."""

    rel: np.ndarray
    subj: np.ndarray
    start: np.ndarray
    arrears: np.ndarray  # major units owed now

    def step(
        self, t: int, z: np.ndarray, pop: Population, first: np.datetime64, rng: np.random.Generator
    ) -> list[Batch]:
        """Last month's contributions, reported on the 15th of this month."""
        b = t - 1
        if b < 0:
            return []
        idx = np.flatnonzero(self.start <= b)
        if not len(idx):
            return []
        n = len(idx)
        subj = self.subj[idx]
        zz = z[subj]
        unpaid = rng.random(n) < sigmoid(0.9 * zz + 0.8)
        # hardship relief: the agency agrees to defer a month now and then; not a late month
        deferred = unpaid & (rng.random(n) < 0.1)
        org = pop.kind[subj] == 1
        owed = _inr(pop, subj, np.where(org, 30_000, 1_200) * np.exp(rng.normal(0, 0.8, n)))
        arrears = _arrears_after(self.arrears[idx], zz, owed, unpaid & ~deferred, 0.6, rng)
        self.arrears[idx] = arrears
        month = str(np.datetime64(_first(first, b)[()], "M"))
        fields = {
            "contribution_month": pa.repeat(month, n),
            "paid_on_time": pa.array(~unpaid),
            "deferral_agreed": pa.array(deferred),
            "arrears": money(arrears),
            "currency": _currency(pop, subj),
        }
        return _period_batch("social_insurance", "ssa-01", "SI", self.rel[idx], subj, month, fields,
                             month_days(_first(first, t), np.full(n, 15)))  # fmt: skip


class Penalties:
    def __init__(self, pop: Population) -> None:
        self.pop = pop
        self.seq = 0
        self.furn_of_category = np.array(
            [FURNISHER_INDEX[_REGULATOR_OF[c]] for c in VIOLATION_CATEGORIES]
        )
        self.names = np.array([f.name for f in FURNISHERS], dtype=object)

    def step(
        self, t: int, z: np.ndarray, first: np.datetime64, rng: np.random.Generator
    ) -> list[Batch]:
        pop = self.pop
        org = pop.kind == 1
        p = sigmoid(0.6 * z + np.where(org, -3.3, -6.8))
        subj = np.flatnonzero(rng.random(pop.n) < p)
        n = len(subj)
        if not n:
            return []
        is_org = org[subj]
        cat = np.where(
            is_org,
            rng.choice(10, n, p=_ORG_CATEGORY_W),
            rng.choice(10, n, p=_PERSON_CATEGORY_W / _PERSON_CATEGORY_W.sum()),
        )
        furn = self.furn_of_category[cat]
        u = rng.random(n)
        serious = 0.05 + 0.15 * sigmoid(z[subj] + 2)
        severity = np.where(u < serious, 2, np.where(u < serious + 0.3, 1, 0))
        lo = np.array([_FINE[s][0] for s in range(3)])[severity]
        hi = np.array([_FINE[s][1] for s in range(3)])[severity]
        fine = np.exp(rng.uniform(np.log(lo), np.log(hi)))
        fine = _inr(pop, subj, np.where(is_org, fine, fine / 10))
        city = pop.places.city[pop.place[2 * subj]]
        date = month_days(_first(first, t), rng.integers(1, 29, n))
        seq = np.arange(self.seq, self.seq + n)
        self.seq += n
        fields = {
            "authority": pc.binary_join_element_wise(
                pa.array(self.names[furn], pa.string()), pa.array(city, pa.string()), ", "
            ),
            "violation_category": pick(VIOLATION_CATEGORIES, cat),
            "severity": pick(SEVERITIES, severity),
            "penalty_date": iso(date),
            "amount": money(fine),
            "currency": _currency(pop, subj),
        }
        return [
            Batch(
                "administrative_penalty",
                furn,
                subj,
                np.full(n, -1),
                ids("AP", seq, 8),
                date,
                None,
                fields,
            )
        ]
