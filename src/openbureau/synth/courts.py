"""Court records: money judgments (some later satisfied), judgment default findings against
debtors who do not pay (removed on payment or at the end of their term) and bankruptcy.

Each judgment's future is drawn when it is made; later versions of a record (a judgment
satisfied, a finding removed, a bankruptcy discharged) are scheduled for their month."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from openbureau.catalogue.model import BANKRUPTCY_KINDS, DEFAULT_GROUNDS
from openbureau.synth.furnishers import FURNISHER_INDEX, FURNISHERS
from openbureau.synth.population import CN, IN, Population
from openbureau.synth.records import Batch, ids, iso, money, month_days, pick, text
from openbureau.synth.rules import hash_uniform, sigmoid

_CN_COURT_CODE = {"court-01": "京0105", "court-02": "粤03"}
_GROUND_WEIGHTS = np.array([0.45, 0.2, 0.1, 0.1, 0.15])


class Schedule:
    """Batches to be emitted in later months."""

    def __init__(self, months: int) -> None:
        self.months = months
        self._by_month: dict[int, list[Batch]] = defaultdict(list)

    def later(self, month: np.ndarray, batch: Batch) -> None:
        """File each row of `batch` under its month in `month` (rows past the window drop)."""
        for m in np.unique(month[month < self.months]):
            self._by_month[int(m)].append(batch.take(np.flatnonzero(month == m)))

    def due(self, t: int) -> list[Batch]:
        return self._by_month.pop(t, [])


def _first(first_month: np.datetime64, months: np.ndarray) -> np.ndarray:
    return (np.datetime64(first_month, "M") + np.asarray(months)).astype("datetime64[D]")


class Courts:
    def __init__(
        self,
        pop: Population,
        seed: int,
        months: int,
        first_month: np.datetime64,
        schedule: Schedule,
    ) -> None:
        self.pop = pop
        self.months = months
        self.first = first_month
        self.schedule = schedule
        self.seq = 0
        subj = np.arange(pop.n)
        u = hash_uniform(seed, np.zeros(pop.n), subj, 99)
        court = np.where(u < 0.5, FURNISHER_INDEX["court-01"], FURNISHER_INDEX["court-02"])
        self.court_of = np.where(pop.country == IN, FURNISHER_INDEX["court-03"], court)
        self.bankrupt = np.zeros(pop.n, bool)
        self.court_name = np.array([f.name for f in FURNISHERS], dtype=object)
        self.cn_code = np.array(
            [_CN_COURT_CODE.get(f.furnisher_id, "") for f in FURNISHERS], dtype=object
        )
        self.lawsuits: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def _case_numbers(self, furn, subj, dates, seq, cn_kind: str, in_kind: str) -> pa.Array:
        """'(2024)京0105民初123号' in China, 'CS/123/2024' in India."""
        year = pc.utf8_slice_codeunits(iso(dates), 0, 4)
        num = text(seq % 100_000 + 1)
        cn = pc.binary_join_element_wise(
            "(", year, ")", pa.array(self.cn_code[furn], pa.string()), cn_kind, num, "号", ""
        )
        india = pc.binary_join_element_wise(in_kind, "/", num, "/", year, "")
        return pc.if_else(pa.array(self.pop.country[subj] == CN), cn, india)

    def _next(self, n: int) -> np.ndarray:
        out = np.arange(self.seq, self.seq + n)
        self.seq += n
        return out

    def sue(self, t_due: np.ndarray, subj: np.ndarray, amount: np.ndarray) -> None:
        """Creditors' claims (amounts in the debtor's currency) that become judgments in
        month `t_due`."""
        self.lawsuits.append((t_due, subj, amount))

    def step(self, t: int, z: np.ndarray, rng: np.random.Generator) -> list[Batch]:
        pop = self.pop
        org = pop.kind == 1
        p = sigmoid(0.9 * z - np.where(org, 3.4, 4.0))
        spontaneous = np.flatnonzero(rng.random(pop.n) < p)
        base = np.where(org[spontaneous], 300_000, 30_000) * np.exp(
            rng.normal(0, 1, len(spontaneous))
        )
        base = np.where(pop.country[spontaneous] == IN, base * 8, base)
        subj, amount = [spontaneous], [base]
        keep = []
        for t_due, s, a in self.lawsuits:
            now = t_due == t
            subj.append(s[now])
            amount.append(a[now])
            if (~now & (t_due > t)).any():
                keep.append((t_due[~now], s[~now], a[~now]))
        self.lawsuits = keep
        subj_all = np.concatenate(subj)
        amount_all = np.concatenate(amount)
        out = [self._judgments(t, subj_all, amount_all, z, rng)] if len(subj_all) else []
        out += self._bankruptcies(t, z, rng)
        return out

    def _judgments(self, t, subj, amount, z, rng) -> Batch:
        n = len(subj)
        furn = self.court_of[subj]
        seq = self._next(n)
        day = rng.integers(1, 29, n)
        date = month_days(_first(self.first, t), day)
        zz = z[subj]
        sat_t = t + rng.geometric(np.clip(sigmoid(-0.9 * (zz + 4.45) - 1.0), 1e-3, 1))
        sat_date = month_days(_first(self.first, sat_t), rng.integers(1, 29, n))
        case = self._case_numbers(furn, subj, date, seq, "民初", "CS")
        fields = {
            "court": pa.array(self.court_name[furn], pa.string()),
            "case_number": case,
            "judgment_date": iso(date),
            "amount": money(amount),
            "currency": pick(("CNY", "INR"), self.pop.country[subj]),
            "date_satisfied": pa.nulls(n, pa.string()),
        }
        rid = ids("JG", seq, 8)
        first = Batch("court_judgment", furn, subj, np.full(n, -1), rid, date, None, fields)
        second = Batch(
            "court_judgment",
            furn,
            subj,
            np.full(n, -1),
            rid,
            sat_date,
            np.full(n, 2),
            dict(fields, date_satisfied=iso(sat_date)),
        )
        self.schedule.later(sat_t, second)

        # unpaid judgments of debtors who could pay become default findings
        f_t = t + rng.integers(3, 10, n)
        p_find = np.where(self.pop.kind[subj] == 1, 0.45, 0.55)
        find = np.flatnonzero((sat_t > f_t) & (rng.random(n) < p_find) & (f_t < self.months))
        if len(find):
            self._findings(find, f_t[find], subj, furn, sat_t, sat_date, rng)
        return first

    def _findings(self, idx, f_t, subj, furn, sat_t, sat_date, rng) -> None:
        n = len(idx)
        subj, furn, sat_t, sat_date = subj[idx], furn[idx], sat_t[idx], sat_date[idx]
        seq = self._next(n)
        date = month_days(_first(self.first, f_t), rng.integers(1, 29, n))
        term = rng.choice(np.array([12, 24, 36]), size=n, p=[0.3, 0.5, 0.2])
        fields = {
            "court": pa.array(self.court_name[furn], pa.string()),
            "case_number": self._case_numbers(furn, subj, date, seq, "执", "EP"),
            "ground": pick(DEFAULT_GROUNDS, rng.choice(5, size=n, p=_GROUND_WEIGHTS)),
            "finding_date": iso(date),
            "term_months": pa.array(term.astype(np.int64)),
            "date_removed": pa.nulls(n, pa.string()),
        }
        rid = ids("DF", seq, 8)
        self.schedule.later(
            f_t,
            Batch("judgment_default_finding", furn, subj, np.full(n, -1), rid, date, None, fields),
        )
        # removed three days after payment, or when the term ends
        paid = sat_t <= f_t + term
        expiry = (date.astype("datetime64[M]") + term).astype("datetime64[D]") + (
            date - date.astype("datetime64[M]").astype("datetime64[D]")
        )
        removed = np.where(paid, sat_date + rng.integers(0, 4, n), expiry)
        removed_t = (removed.astype("datetime64[M]") - np.datetime64(self.first, "M")).astype(
            np.int64
        )
        self.schedule.later(
            removed_t,
            Batch(
                "judgment_default_finding",
                furn,
                subj,
                np.full(n, -1),
                rid,
                removed,
                np.full(n, 2),
                dict(fields, date_removed=iso(removed)),
            ),
        )

    def _bankruptcies(self, t, z, rng) -> list[Batch]:
        pop = self.pop
        org = pop.kind == 1
        p = sigmoid(z - np.where(org, 4.8, 7.0))
        subj = np.flatnonzero((rng.random(pop.n) < p) & ~self.bankrupt)
        if not len(subj):
            return []
        self.bankrupt[subj] = True
        n = len(subj)
        furn = self.court_of[subj]
        seq = self._next(n)
        date = month_days(_first(self.first, t), rng.integers(1, 29, n))
        india = pop.country[subj] == IN
        kind = np.where(india, 2, np.where(rng.random(n) < 0.7, 0, 1))
        fields = {
            "court": pa.array(self.court_name[furn], pa.string()),
            "case_number": self._case_numbers(furn, subj, date, seq, "破", "IB"),
            "proceeding": pick(BANKRUPTCY_KINDS, kind),
            "filed_date": iso(date),
            "discharged_date": pa.nulls(n, pa.string()),
        }
        rid = ids("BK", seq, 8)
        d_t = t + rng.integers(12, 37, n)
        d_date = month_days(_first(self.first, d_t), rng.integers(1, 29, n))
        self.schedule.later(
            d_t,
            Batch(
                "bankruptcy",
                furn,
                subj,
                np.full(n, -1),
                rid,
                d_date,
                np.full(n, 2),
                dict(fields, discharged_date=iso(d_date)),
            ),
        )
        return [Batch("bankruptcy", furn, subj, np.full(n, -1), rid, date, None, fields)]
