"""The synthetic furnishers and what each of them knows about its customers.

A furnisher's view of a subject (names, date of birth, identifier, address) is drawn once per
(furnisher, subject) pair from counter-based randomness, so it is the same in every month and
file of that furnisher, and differs in realistic ways between furnishers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from openbureau.catalogue.model import FURNISHER_KINDS, RECORD_TYPES
from openbureau.synth.orgnames import vary_org_names
from openbureau.synth.population import CN, IN, Population
from openbureau.synth.rules import hash_uniform, swap_day_month

ANY = -1


@dataclass(frozen=True)
class FurnisherSpec:
    furnisher_id: str
    kind: str
    name: str
    record_types: tuple[str, ...]
    market: int = ANY  # CN, IN or ANY: whose residents are its customers
    national_id: bool = True  # sends national identifiers (default noise)
    national_id_high: bool = False  # ... and under noise="high"
    typo_rate: float = 0.015  # per name field and relationship
    order_swap: float = 0.0  # Chinese names with given and family name exchanged
    dob_share: float = 1.0  # share of person relationships with a date of birth
    upper_case: bool = False  # writes names in capitals
    abbreviates: bool = False  # "Rd", "St", "Bldg" ...
    old_city_names: float = 0.0  # share of relationships written with a former city name
    follows_moves: float = 0.95  # share of relationships whose address is updated on a move


_CREDIT = ("profile", "credit_account")
_COURT = ("court_judgment", "judgment_default_finding", "bankruptcy")
_BILLS = ("profile", "invoice_payment")

FURNISHERS: tuple[FurnisherSpec, ...] = (
    FurnisherSpec(
        "bank-01",
        "bank",
        "Huaxia Commercial Bank",
        _CREDIT,
        CN,
        True,
        True,
        typo_rate=0.008,
        order_swap=0.01,
    ),
    FurnisherSpec(
        "bank-02",
        "bank",
        "Pearl River Savings Bank",
        _CREDIT,
        CN,
        order_swap=0.04,
        abbreviates=True,
    ),
    FurnisherSpec("bank-03", "bank", "Bharat Mercantile Bank", _CREDIT, IN, upper_case=True),
    FurnisherSpec(
        "bank-04",
        "bank",
        "Deccan Co-operative Bank",
        _CREDIT,
        IN,
        old_city_names=0.3,
        typo_rate=0.02,
    ),
    FurnisherSpec(
        "lender-01", "lender", "Jade Consumer Finance", _CREDIT, CN, typo_rate=0.03, order_swap=0.03
    ),
    FurnisherSpec(
        "lender-02",
        "lender",
        "Sahyog Microfinance",
        _CREDIT,
        IN,
        national_id=False,
        typo_rate=0.04,
        dob_share=0.8,
        upper_case=True,
        old_city_names=0.2,
    ),
    FurnisherSpec("court-01", "court", "Beijing Chaoyang District People's Court", _COURT, CN),
    FurnisherSpec("court-02", "court", "Shenzhen Intermediate People's Court", _COURT, CN),
    FurnisherSpec("court-03", "court", "Bombay City Civil Court", _COURT, IN, typo_rate=0.02),
    FurnisherSpec(
        "tax-01",
        "tax_office",
        "Revenue and Taxation Office",
        ("profile", "tax_compliance", "administrative_penalty"),
        ANY,
        True,
        True,
    ),
    FurnisherSpec(
        "regulator-01", "regulator", "Market Conduct Authority", ("administrative_penalty",)
    ),
    FurnisherSpec(
        "regulator-02",
        "regulator",
        "Environment and Labour Inspectorate",
        ("administrative_penalty",),
        typo_rate=0.02,
    ),
    FurnisherSpec(
        "utility-01",
        "utility",
        "Eastern Grid Power and Telecom",
        _BILLS,
        CN,
        national_id=False,
        dob_share=0.5,
        abbreviates=True,
        old_city_names=0.15,
        typo_rate=0.025,
    ),
    FurnisherSpec(
        "utility-02",
        "utility",
        "Sahyadri Power and Water",
        _BILLS,
        IN,
        national_id=False,
        dob_share=0.4,
        upper_case=True,
        old_city_names=0.3,
        typo_rate=0.03,
    ),
    FurnisherSpec(
        "marketplace-01",
        "marketplace",
        "Silk Road Trade Marketplace",
        _BILLS,
        ANY,
        national_id=False,
        dob_share=0.5,
        typo_rate=0.03,
        follows_moves=0.6,
    ),
    # last, so that adding it changed no other furnisher's index (relationships are keyed by
    # furnisher index and subject)
    FurnisherSpec(
        "ssa-01",
        "social_security",
        "Social Insurance and Provident Fund Agency",
        ("profile", "social_insurance"),
        ANY,
        True,
        True,
        typo_rate=0.01,
    ),
)

FURNISHER_INDEX = {f.furnisher_id: i for i, f in enumerate(FURNISHERS)}


def check_licences() -> None:
    """Every furnisher is of a catalogue kind and sends only record types it is licensed for."""
    for f in FURNISHERS:
        assert f.kind in FURNISHER_KINDS, f.furnisher_id
        for rt in f.record_types:
            assert f.kind in RECORD_TYPES[rt].furnisher_kinds, (f.furnisher_id, rt)


@dataclass(frozen=True)
class NoiseLevel:
    typo: float  # multiplier of each furnisher's typo rate
    spelling: float  # another romanisation or transliteration, where the name has one
    dob_swap: float  # day and month exchanged
    missing_id: float  # an identifier-sending furnisher leaves it out anyway
    form_variant: float  # another spelling of an organisation's legal form
    high: bool


NOISE = {
    "default": NoiseLevel(1.0, 0.06, 0.015, 0.03, 0.25, False),
    "high": NoiseLevel(4.0, 0.15, 0.04, 0.10, 0.40, True),
}

# uniform slots of hash_uniform: one independent draw per purpose
(
    _G_TYPO,
    _F_TYPO,
    _G_ALT,
    _F_ALT,
    _SWAP,
    _DOB_SWAP,
    _DOB_MISSING,
    _ID_MISSING,
    _SCHEME,
    _LAG,
    _NO_FOLLOW,
    _ALIAS,
    _FORM,
    _ORG_TYPO,
    _LINE2,
    _POSTCODE,
) = range(16)

_SPEC = {
    "typo": np.array([f.typo_rate for f in FURNISHERS]),
    "swap": np.array([f.order_swap for f in FURNISHERS]),
    "dob": np.array([f.dob_share for f in FURNISHERS]),
    "nid": np.array([f.national_id for f in FURNISHERS]),
    "nid_high": np.array([f.national_id_high for f in FURNISHERS]),
    "alias": np.array([f.old_city_names for f in FURNISHERS]),
    "follow": np.array([f.follows_moves for f in FURNISHERS]),
    "court": np.array([f.kind == "court" for f in FURNISHERS]),
    "commercial": np.array(
        [f.kind in ("bank", "lender", "utility", "marketplace") for f in FURNISHERS]
    ),
}


def _variant(idx: np.ndarray, table: np.ndarray, count: np.ndarray, u: np.ndarray, p: np.ndarray):
    """Replace idx by one of its `count` variants in `table` where u < p."""
    k = np.minimum(
        (u / np.maximum(p, 1e-12) * np.maximum(count, 1)).astype(np.int64), table.shape[1] - 1
    )
    use = (u < p) & (count > 0)
    return np.where(use, table[np.maximum(idx, 0), k], idx)


def identity_views(
    pop: Population, furn: np.ndarray, subj: np.ndarray, seed: int, noise: NoiseLevel
) -> pa.Table:
    """Each furnisher's view of each subject, one row per (furn[i], subj[i]) pair.

    Columns: the identity columns except the address ones, plus `addr_switch` (window month
    from which the furnisher shows the address after a move), `city_alias`, `drop_line2`,
    `drop_postcode` used when the address is filled in per month."""

    def u(slot: int) -> np.ndarray:
        return hash_uniform(seed, furn, subj, slot)

    n = len(furn)
    book = pop.book
    person = pop.kind[subj] == 0
    chinese = pop.country[subj] == CN
    typo_p = np.minimum(_SPEC["typo"][furn] * noise.typo, 0.3)

    given, family = pop.given[subj], pop.family[subj]
    given = _variant(
        given,
        book.alts,
        book.alt_count[np.maximum(given, 0)],
        u(_G_ALT),
        np.full(n, noise.spelling),
    )
    family = _variant(
        family,
        book.alts,
        book.alt_count[np.maximum(family, 0)],
        u(_F_ALT),
        np.full(n, noise.spelling),
    )
    k = book.typos.shape[1]
    given = _variant(given, book.typos, np.full(n, k), u(_G_TYPO), typo_p)
    family = _variant(family, book.typos, np.full(n, k), u(_F_TYPO), typo_p)
    swap = person & chinese & (u(_SWAP) < _SPEC["swap"][furn] * (2 if noise.high else 1))
    given, family = np.where(swap, family, given), np.where(swap, given, family)
    names = book.arrow
    given_s = pc.if_else(pa.array(person), names.take(pa.array(np.maximum(given, 0))), None)
    family_s = pc.if_else(pa.array(person), names.take(pa.array(np.maximum(family, 0))), None)

    # date of birth, sometimes with day and month exchanged, sometimes not sent
    dob = pop.dob[subj]
    y = dob.astype("datetime64[Y]")
    m = (dob.astype("datetime64[M]") - y.astype("datetime64[M]")).astype(np.int64) + 1
    d = (dob - dob.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    m2, d2, _ = swap_day_month(m, d, u(_DOB_SWAP) < noise.dob_swap)
    shown = (y.astype("datetime64[M]") + (m2 - 1)).astype("datetime64[D]") + (d2 - 1)
    shown = np.where(u(_DOB_MISSING) < _SPEC["dob"][furn], shown, np.datetime64("NaT"))
    dob_s = pc.cast(pa.array(shown.astype("datetime64[D]"), pa.date32()), pa.string())

    scheme, nid = _national_ids(pop, furn, subj, u(_ID_MISSING), u(_SCHEME), noise)

    orgs = ~person
    org_name = pa.nulls(n, pa.string())
    if orgs.any():
        o = subj[orgs] - pop.n_persons
        parts = {key: val[o] for key, val in pop.org_parts.items() if key != "name"}
        varied = vary_org_names(
            parts, u(_FORM)[orgs], u(_ORG_TYPO)[orgs], noise.form_variant, typo_p[orgs]
        )
        pos = np.full(n, -1)
        pos[orgs] = np.arange(int(orgs.sum()))
        org_name = varied.take(pa.array(np.where(orgs, pos, None), pa.int64()))

    # addresses: a furnisher picks up a move after a lag, or never; public records at once
    move = pop.move_month[subj]
    lag = (u(_LAG) * 7).astype(np.int64)
    lag = np.where(_SPEC["commercial"][furn], lag, 0)
    never = u(_NO_FOLLOW) >= _SPEC["follow"][furn]
    switch = np.where(never, np.iinfo(np.int32).max, move + lag)
    return pa.table(
        {
            "subject_kind": pa.array(np.where(person, "person", "organisation")),
            "given_name": given_s,
            "family_name": family_s,
            "org_name": org_name,
            "date_of_birth": dob_s,
            "national_id_scheme": scheme,
            "national_id": nid,
            "addr_switch": pa.array(switch.astype(np.int32)),
            "city_alias": pa.array(u(_ALIAS) < _SPEC["alias"][furn]),
            "drop_line2": pa.array(u(_LINE2) < 0.08),
            "drop_postcode": pa.array(u(_POSTCODE) < 0.04),
        }
    )


def _national_ids(pop: Population, furn, subj, u_missing, u_scheme, noise: NoiseLevel):
    """(scheme, number) as a furnisher reports them: nothing from furnishers that never
    send identifiers; CN-RIC / CN-USCC for Chinese subjects; an Indian person's PAN, or the
    Aadhaar number when the furnisher asks for it or there is no PAN."""
    sends = np.where(noise.high, _SPEC["nid_high"][furn], _SPEC["nid"][furn])
    sends = sends & (u_missing >= noise.missing_id)
    person = pop.kind[subj] == 0
    idx = pa.array(subj)
    ric, pan, aad, uscc = (a.take(idx) for a in (pop.ric, pop.pan, pop.aadhaar, pop.uscc))
    wants_aadhaar = (u_scheme < 0.25) & ~_SPEC["court"][furn]
    use_aad = pa.array(wants_aadhaar & pc.is_valid(aad).to_numpy(zero_copy_only=False))
    indian = pc.if_else(use_aad, aad, pc.coalesce(pan, aad))
    in_scheme = pc.if_else(
        use_aad,
        "IN-AADHAAR",
        pc.if_else(pc.is_valid(pan), "IN-PAN", pc.if_else(pc.is_valid(aad), "IN-AADHAAR", None)),
    )
    is_in = pa.array((pop.country[subj] == IN) & person)
    nid = pc.if_else(pa.array(person), pc.if_else(is_in, indian, ric), uscc)
    scheme = pc.if_else(pa.array(person), pc.if_else(is_in, in_scheme, "CN-RIC"), "CN-USCC")
    scheme = pc.if_else(pc.is_valid(nid), scheme, None)
    keep = pa.array(sends)
    none = pa.nulls(len(subj), pa.string())
    return pc.if_else(keep, scheme, none), pc.if_else(keep, nid, none)
