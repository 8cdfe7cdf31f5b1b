"""The simulated world month by month: who deals with which furnisher, how each subject's
risk drifts, and which records every furnisher has to report in each month."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from openbureau.catalogue.model import ACCOUNT_TYPES, INVOICE_KINDS
from openbureau.synth.bills import (
    INVOICE_AMOUNT,
    Invoices,
    Penalties,
    SocialInsurance,
    TaxAccounts,
)
from openbureau.synth.courts import Courts, Schedule
from openbureau.synth.credit import open_accounts, report_accounts, step_accounts
from openbureau.synth.furnishers import FURNISHER_INDEX, NoiseLevel, identity_views
from openbureau.synth.population import CN, IN, Population
from openbureau.synth.records import Batch, ids, month_days
from openbureau.synth.rules import hash_uniform

BURN_IN = 12
F = FURNISHER_INDEX
_BANKS = {
    CN: ([F["bank-01"], F["bank-02"], F["bank-03"], F["bank-04"]], [0.5, 0.38, 0.07, 0.05]),
    IN: ([F["bank-01"], F["bank-02"], F["bank-03"], F["bank-04"]], [0.05, 0.05, 0.48, 0.42]),
}
_LENDERS = {
    CN: ([F["lender-01"], F["lender-02"]], [0.92, 0.08]),
    IN: ([F["lender-01"], F["lender-02"]], [0.08, 0.92]),
}
_A = {name: i for i, name in enumerate(ACCOUNT_TYPES)}
_PERSON_BANK_TYPES = {
    "credit_card": 0.40,
    "personal_loan": 0.18,
    "home_loan": 0.14,
    "auto_loan": 0.12,
    "overdraft": 0.07,
    "business_loan": 0.05,
    "microfinance": 0.04,
}
_PERSON_LENDER_TYPES = {
    "personal_loan": 0.45,
    "microfinance": 0.35,
    "credit_card": 0.10,
    "auto_loan": 0.10,
}
_ORG_TYPES = {"business_loan": 0.55, "overdraft": 0.30, "credit_card": 0.15}
_I = {name: i for i, name in enumerate(INVOICE_KINDS)}


def _choose(rng, table: dict[str, float], n: int) -> np.ndarray:
    codes = np.array([_A[k] for k in table])
    return codes[rng.choice(len(codes), size=n, p=np.array(list(table.values())))]


def _by_market(rng, choices: dict, country: np.ndarray) -> np.ndarray:
    out = np.zeros(len(country), np.int64)
    for c, (furns, w) in choices.items():
        sel = country == c
        out[sel] = np.array(furns)[rng.choice(len(furns), size=int(sel.sum()), p=w)]
    return out


class World:
    """Everything that happens, generated one month at a time (`month(t)`)."""

    def __init__(
        self, pop: Population, seed: int, months: int, first_month: np.datetime64, noise: NoiseLevel
    ) -> None:
        self.pop, self.seed, self.months, self.first = pop, seed, months, first_month
        self.noise = noise
        rng = np.random.default_rng([seed, 2])
        n, persons = pop.n, pop.n_persons
        person = pop.kind == 0
        u = rng.random(n)
        #: coverage segment of each subject (persons only; organisations are all "regular")
        self.segment = np.where(
            ~person,
            "regular",
            np.select(
                [u < 0.05, u < 0.09, u < 0.12], ["none", "profile_only", "new_to_credit"], "regular"
            ),
        ).astype(object)
        regular = self.segment == "regular"
        rank = np.argsort(np.argsort(pop.z0)) / max(n - 1, 1)
        public = np.zeros(n, bool)
        public[persons:] = pop.org_parts["public"]

        # credit accounts
        n_acc = np.where(
            person,
            rng.choice(5, n, p=[0.20, 0.43, 0.24, 0.09, 0.04]),
            np.where(
                public, rng.choice(2, n, p=[0.6, 0.4]), rng.choice(4, n, p=[0.35, 0.4, 0.17, 0.08])
            ),
        )
        n_acc = np.where(regular, n_acc, 0)
        ntc = self.segment == "new_to_credit"
        n_acc[ntc] = 1
        subj = np.repeat(np.arange(n), n_acc)
        k = len(subj)
        lender = rng.random(k) < np.where(person[subj], 0.10 + 0.30 * rank[subj], 0.08)
        furn = np.where(
            lender,
            _by_market(rng, _LENDERS, pop.country[subj]),
            _by_market(rng, _BANKS, pop.country[subj]),
        )
        kind = np.where(
            ~person[subj],
            _choose(rng, _ORG_TYPES, k),
            np.where(
                lender, _choose(rng, _PERSON_LENDER_TYPES, k), _choose(rng, _PERSON_BANK_TYPES, k)
            ),
        )
        # nobody deals with a bank or a utility before turning 18
        end = first_month.astype("datetime64[M]") + months
        self.adult_t = np.full(n, -(10**6), np.int64)
        age_months = (end - pop.dob[person].astype("datetime64[M]")).astype(np.int64)
        self.adult_t[person] = months - (age_months - 18 * 12)
        open_t = np.maximum(rng.integers(-72, months, k), self.adult_t[subj])
        open_t = np.where(ntc[subj], months - 1 - rng.integers(0, 2, k), open_t)
        self.acc = open_accounts(
            rng,
            subj,
            furn,
            kind,
            np.maximum(open_t, -400),
            pop.z0[subj],
            lender,
            pop.country[subj] == IN,
            first_month,
        )

        # other relationships: profile-only bank customers, utilities, marketplace, tax
        po = np.flatnonzero(self.segment == "profile_only")
        po_furn = _by_market(rng, _BANKS, pop.country[po])
        util = np.flatnonzero(regular & (rng.random(n) < np.where(person, 0.30, 0.50)))
        util_furn = np.where(pop.country[util] == CN, F["utility-01"], F["utility-02"])
        mkt = np.flatnonzero(regular & ~public & (rng.random(n) < np.where(person, 0.05, 0.40)))
        tax = np.flatnonzero(regular & (rng.random(n) < np.where(person, 0.08, 0.92)))
        starts = {
            name: np.maximum(rng.integers(lo, months, len(s)), self.adult_t[s])
            for name, s, lo in (
                ("po", po, -24),
                ("util", util, -60),
                ("mkt", mkt, -60),
                ("tax", tax, -60),
            )
        }
        # social insurance: employers, and self-employed persons. Drawn from a stream of its
        # own, after the others, so that it changed no other draw of an existing world.
        srng = np.random.default_rng([seed, 7])
        employs = srng.random(n) < 0.85
        self_employed = srng.random(n) < 0.06
        ssa = np.flatnonzero(regular & np.where(person, self_employed, employs))
        starts["ssa"] = np.maximum(srng.integers(-60, months, len(ssa)), self.adult_t[ssa])

        cand_f = np.concatenate(
            [
                furn,
                po_furn,
                util_furn,
                np.full(len(mkt), F["marketplace-01"]),
                np.full(len(tax), F["tax-01"]),
                np.full(len(ssa), F["ssa-01"]),
            ]
        )
        cand_s = np.concatenate([subj, po, util, mkt, tax, ssa])
        cand_t = np.concatenate(
            [
                self.acc.open_t,
                starts["po"],
                starts["util"],
                starts["mkt"],
                starts["tax"],
                starts["ssa"],
            ]
        )
        key = cand_f.astype(np.int64) * n + cand_s
        ukey, inv = np.unique(key, return_inverse=True)
        self.rel_furn, self.rel_subj = ukey // n, ukey % n
        self.rel_start = np.full(len(ukey), np.iinfo(np.int64).max)
        np.minimum.at(self.rel_start, inv, cand_t)
        bounds = np.cumsum([0, k, len(po), len(util), len(mkt), len(tax), len(ssa)])
        self.acc.rel = inv[: bounds[1]]
        self.ident = identity_views(pop, self.rel_furn, self.rel_subj, seed, noise)

        # profiles: when the relationship starts (or in the first month for older ones), and
        # again when the furnisher learns of a move; none from the tax office for persons
        self.profile_t = np.maximum(self.rel_start, 0)
        tax_person = (self.rel_furn == F["tax-01"]) & person[self.rel_subj]
        self.profile_t[tax_person] = months
        switch = self.ident.column("addr_switch").to_numpy()
        self.reprofile_t = np.where((switch > self.profile_t) & ~tax_person, switch, months)

        self.invoices = self._invoices(
            rng,
            inv[bounds[2] : bounds[4]],
            np.concatenate([util, mkt]),
            np.concatenate([util_furn, np.full(len(mkt), F["marketplace-01"])]),
        )
        t_subj = tax
        period = np.where(person[t_subj] | (pop.country[t_subj] == IN), 3, 1)
        self.tax = TaxAccounts(
            inv[bounds[4] : bounds[5]],
            t_subj,
            self.rel_start[inv[bounds[4] : bounds[5]]],
            period,
            np.zeros(len(t_subj)),
        )
        self.social = SocialInsurance(
            inv[bounds[5] :], ssa, self.rel_start[inv[bounds[5] :]], np.zeros(len(ssa))
        )
        self.schedule = Schedule(months)
        self.courts = Courts(pop, seed, months, first_month, self.schedule)
        self.penalties = Penalties(pop)

        # risk: the hidden level plus a slow drift and occasional shocks (job loss, a failed
        # contract), so that recent behaviour tells more than old behaviour
        self.drift = rng.normal(0, 0.18 / np.sqrt(1 - 0.93**2), n)
        self.shock = np.zeros(n)
        self.t = -BURN_IN - 1

    def _invoices(self, rng, rel, subj, furn) -> Invoices:
        pop = self.pop
        n = len(subj)
        person = pop.kind[subj] == 0
        market = furn == F["marketplace-01"]
        p_kind = np.array([[0.35, 0.15, 0.10, 0.40, 0], [0.7, 0, 0, 0.3, 0]])
        kind = np.where(person, rng.choice(5, n, p=p_kind[0]), rng.choice(5, n, p=p_kind[1]))
        kind = np.where(market, _I["trade"], kind)
        period = np.where(person & np.isin(kind, (_I["electricity"], _I["water"], _I["gas"])), 2, 1)
        table = np.array([INVOICE_AMOUNT[k] for k in INVOICE_KINDS], dtype=float)
        base = table[kind, np.where(person, 0, 1)] * np.exp(rng.normal(0, 0.4, n))
        base = np.where(pop.country[subj] == IN, base * 8, base)
        return Invoices(
            rel,
            furn,
            subj,
            self.rel_start[rel],
            kind,
            period,
            rng.integers(0, 2, n) % period,
            rng.integers(5, 29, n),
            base,
        )

    def risk(self) -> np.ndarray:
        """Each subject's risk this month, on the logit scale."""
        return self.pop.z0 + self.drift + self.shock

    def month(self, t: int) -> list[Batch]:
        """Advance to month `t` (months run in order, from a burn-in before the window) and
        return the records reported in it; nothing is returned during the burn-in."""
        if t != self.t + 1:
            raise ValueError(f"months must run in order: expected {self.t + 1}, got {t}")
        self.t = t
        rng = np.random.default_rng([self.seed, 3, t + 10_000])
        n = self.pop.n
        self.drift = 0.93 * self.drift + rng.normal(0, 0.18, n)
        self.shock = 0.9 * self.shock + (rng.random(n) < 0.002) * rng.normal(1.8, 0.5, n)
        z = self.risk()
        written = step_accounts(self.acc, t, z, rng)
        sue = written[rng.random(len(written)) < 0.35]
        self.courts.sue(t + rng.integers(2, 9, len(sue)), self.acc.subj[sue], self.acc.balance[sue])
        if t < 0:
            return []
        first = (np.datetime64(self.first, "M") + t).astype("datetime64[D]")
        out = self._profiles(t, first)
        out.append(report_accounts(self.acc, t, first, rng))
        out += self.invoices.step(t, z, self.pop, self.first, self.schedule, rng)
        out += self.tax.step(t, z, self.pop, self.first, rng)
        before = self.courts.bankrupt.copy()
        out += self.courts.step(t, z, rng)
        self.shock[self.courts.bankrupt & ~before] += 3.0
        out += self.penalties.step(t, z, self.first, rng)
        out += self.schedule.due(t)
        # its own stream, so that the draws above are those of a world without it
        out += self.social.step(
            t, z, self.pop, self.first, np.random.default_rng([self.seed, 8, t + 10_000])
        )
        return [b for b in out if len(b)]

    def _profiles(self, t: int, first: np.datetime64) -> list[Batch]:
        pop = self.pop
        out = []
        for version, when in ((1, self.profile_t), (2, self.reprofile_t)):
            rel = np.flatnonzero(when == t)
            subj = self.rel_subj[rel]
            day = 1 + (hash_uniform(self.seed, rel, np.full(len(rel), version), 7) * 28)
            org = subj - pop.n_persons
            is_org = org >= 0
            public = np.zeros(len(rel), dtype=object)
            public[:] = None
            if pop.n_orgs:
                public[is_org] = pop.org_parts["public"][org[is_org]]
            fields = {
                "legal_representative": pop.legal_rep.take(pa.array(subj)),
                "public_body": pa.array(public, pa.bool_()),
            }
            out.append(
                Batch(
                    "profile",
                    self.rel_furn[rel],
                    subj,
                    rel,
                    ids("PF", rel, 9),
                    month_days(first, day.astype(np.int64)),
                    None if version == 1 else np.full(len(rel), 2),
                    fields,
                )
            )
        return out
