"""The true population: persons and organisations with their real identities, addresses,
national identifiers and a hidden risk. Furnishers later see noisy views of these.

Subjects 0 .. n_persons-1 are persons, the rest organisations. Months are counted from the
first month of the window (0) to the last (months-1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from openbureau.synth import vocab
from openbureau.synth.ids import aadhaar_numbers, pan_numbers, ric_numbers, uscc_numbers
from openbureau.synth.names import NameBook, full_names, name_book
from openbureau.synth.orgnames import compose_org_names, render_org_names

CN, IN = 0, 1
NO_MOVE = 10_000

AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
_AGE_EDGES = np.array([25, 35, 45, 55, 65])


@dataclass(frozen=True)
class Places:
    city: np.ndarray  # object arrays, one row per place, China first
    alias: np.ndarray
    region: np.ndarray
    country: np.ndarray  # CN / IN codes
    postcode_prefix: np.ndarray
    area_code: np.ndarray  # CN area code (int) or 0
    city_zh: np.ndarray
    weight: np.ndarray


def places() -> Places:
    cn = vocab.CN_PLACES
    inn = vocab.IN_PLACES
    city = [p[1] for p in cn] + [p[0] for p in inn]
    return Places(
        city=np.array(city, dtype=object),
        alias=np.array([vocab.CITY_ALIASES.get(c, c) for c in city], dtype=object),
        region=np.array([p[2] for p in cn] + [p[1] for p in inn], dtype=object),
        country=np.array([CN] * len(cn) + [IN] * len(inn)),
        postcode_prefix=np.array([p[4] for p in cn] + [p[2] for p in inn], dtype=object),
        area_code=np.array([int(p[0]) for p in cn] + [0] * len(inn)),
        city_zh=np.array([p[3] for p in cn] + [""] * len(inn), dtype=object),
        weight=np.array([p[5] for p in cn] + [p[3] for p in inn], dtype=float),
    )


@dataclass
class Population:
    n_persons: int
    n_orgs: int
    kind: np.ndarray  # 0 person, 1 organisation
    country: np.ndarray  # CN / IN
    sex: np.ndarray  # 0 female, 1 male, -1 organisation
    dob: np.ndarray  # datetime64[D]; NaT for organisations
    given: np.ndarray  # name-book indices (-1 for organisations)
    family: np.ndarray
    org_name: pa.Array  # canonical registered name (null for persons)
    org_parts: dict[str, np.ndarray]  # trade, industry, form, public, zh (organisations only)
    legal_rep: pa.Array  # legal representative's name (null for persons)
    legal_rep_subject: np.ndarray  # subject index of the representative, -1 if none
    #: addresses: row 2*s is subject s's first address, 2*s+1 the one after a move
    line1: pa.Array
    line2: pa.Array
    place: np.ndarray
    postcode: pa.Array
    move_month: np.ndarray  # window month of the move, NO_MOVE if none
    ric: pa.Array  # national identifiers by scheme, null where the subject has none
    pan: pa.Array
    aadhaar: pa.Array
    uscc: pa.Array
    z0: np.ndarray  # hidden risk on the logit scale
    age_band: np.ndarray  # object array of AGE_BANDS labels (None for organisations)
    book: NameBook
    places: Places

    @property
    def n(self) -> int:
        return self.n_persons + self.n_orgs


def _pick(rng: np.random.Generator, pool: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    return pool[rng.choice(len(pool), size=n, p=weights)] if n else np.zeros(0, np.int64)


def _pick_place(rng: np.random.Generator, pl: Places, country: np.ndarray) -> np.ndarray:
    out = np.zeros(len(country), dtype=np.int64)
    for c in (CN, IN):
        idx = np.flatnonzero(pl.country == c)
        sel = country == c
        w = pl.weight[idx] / pl.weight[idx].sum()
        out[sel] = idx[rng.choice(len(idx), size=int(sel.sum()), p=w)]
    return out


def _str(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


def _addresses(rng: np.random.Generator, country: np.ndarray, kind: np.ndarray):
    """First address lines for each subject: (line1, line2) as Arrow string arrays."""
    n = len(country)
    is_in = country == IN
    cn_street = np.array(vocab.CN_STREETS, dtype=object)[rng.integers(0, len(vocab.CN_STREETS), n)]
    in_street = np.array(vocab.IN_STREETS, dtype=object)[rng.integers(0, len(vocab.IN_STREETS), n)]
    cn_kind = np.array(vocab.STREET_KINDS, dtype=object)[rng.integers(0, 3, n)]
    in_kind = np.array(vocab.IN_STREET_KINDS, dtype=object)[rng.integers(0, 5, n)]
    number = _str(rng.integers(1, 400, n))
    street = pa.array(np.where(is_in, in_street, cn_street))
    skind = pa.array(np.where(is_in, in_kind, cn_kind))
    sep = pa.array(np.where(is_in, ", ", " "))
    line1 = pc.binary_join_element_wise(
        pc.binary_join_element_wise(number, street, sep), skind, " "
    )
    # second lines: China "Building 3, Unit 2" / "Room 1204"; India "Flat 12, Sunshine Apartments"
    b, u, room = (
        _str(rng.integers(1, 30, n)),
        _str(rng.integers(1, 7, n)),
        _str(rng.integers(101, 2800, n)),
    )
    soc = pa.array(np.array(vocab.IN_SOCIETIES, dtype=object)[rng.integers(0, 10, n)])
    cn_building = pc.binary_join_element_wise("Building ", b, ", Unit ", u, "")
    cn_room = pc.binary_join_element_wise("Room ", room, "")
    in_flat = pc.binary_join_element_wise("Flat ", room, ", ", soc, " Apartments", "")
    org_floor = pc.binary_join_element_wise("Floor ", b, "")
    style = rng.random(n)
    line2 = pc.if_else(
        pa.array(is_in), in_flat, pc.if_else(pa.array(style < 0.5), cn_building, cn_room)
    )
    line2 = pc.if_else(pa.array(kind == 1), org_floor, line2)
    empty = pa.array((style > 0.75) | ((kind == 1) & (style > 0.4)))
    line2 = pc.if_else(empty, pa.nulls(n, pa.string()), line2)
    return line1, line2


def _postcodes(rng: np.random.Generator, pl: Places, place: np.ndarray) -> pa.Array:
    n = len(place)
    is_in = pl.country[place] == IN
    tail = np.where(is_in, rng.integers(1, 999, n), rng.integers(0, 99, n))
    width = np.where(is_in, 3, 2)
    digits = pc.utf8_lpad(_str(tail), 3, "0")
    digits = pc.if_else(pa.array(width == 2), pc.utf8_slice_codeunits(digits, 1), digits)
    return pc.binary_join_element_wise(pa.array(pl.postcode_prefix[place]), digits, "")


def build_population(
    persons: int, orgs: int, rng: np.random.Generator, end_month: date, months: int
) -> Population:
    """Draw the true population. Deterministic for a given generator state."""
    book = name_book()
    pl = places()
    n = persons + orgs
    kind = np.r_[np.zeros(persons, np.int8), np.ones(orgs, np.int8)]
    country = np.where(rng.random(n) < 0.6, CN, IN)
    sex = np.where(kind == 0, rng.integers(0, 2, n), -1)

    # ages 18-80 at the end of the window, most between 25 and 60
    raw = rng.gamma(5.0, 6.5, persons)
    age_days = (18.05 + np.where(raw > 62, rng.uniform(0, 62, persons), raw)) * 365.25
    end = np.datetime64(end_month, "D")
    dob = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    dob[:persons] = end - age_days.astype(np.int64)
    age_years = (end - dob[:persons]).astype(np.int64) / 365.25
    age_band = np.full(n, None, dtype=object)
    age_band[:persons] = np.array(AGE_BANDS, dtype=object)[
        np.searchsorted(_AGE_EDGES, age_years, "right")
    ]

    given = np.full(n, -1, np.int64)
    family = np.full(n, -1, np.int64)
    for c, tag in ((CN, "cn"), (IN, "in")):
        sel = (kind == 0) & (country == c)
        family[sel] = _pick(
            rng, book.pools[f"{tag}_family"], book.weights[f"{tag}_family"], int(sel.sum())
        )
        for s, stag in ((0, "f"), (1, "m")):
            ss = sel & (sex == s)
            pool = f"{tag}_given_{stag}"
            given[ss] = _pick(rng, book.pools[pool], book.weights[pool], int(ss.sum()))

    # addresses: a first one, and a second one for subjects who move within the window
    place0 = _pick_place(rng, pl, country)
    moves = rng.random(n) < np.where(kind == 0, 0.18, 0.06)
    move_month = np.where(moves, rng.integers(1, max(months, 2), n), NO_MOVE)
    new_city = rng.random(n) < 0.35
    place1 = np.where(moves & new_city, _pick_place(rng, pl, country), place0)
    l1a, l2a = _addresses(rng, country, kind)
    l1b, l2b = _addresses(rng, country, kind)
    l1b = pc.if_else(pa.array(moves), l1b, l1a)
    l2b = pc.if_else(pa.array(moves), l2b, l2a)
    post0 = _postcodes(rng, pl, place0)
    post1 = pc.if_else(pa.array(moves), _postcodes(rng, pl, place1), post0)
    inter = np.arange(2 * n).reshape(2, n).T.ravel()  # interleave: (s, v) -> 2*s + v
    line1 = pa.concat_arrays([l1a, l1b]).take(pa.array(inter))
    line2 = pa.concat_arrays([l2a, l2b]).take(pa.array(inter))
    postcode = pa.concat_arrays([post0, post1]).take(pa.array(inter))
    place = np.c_[place0, place1].ravel()

    # hidden risk (logit of a monthly propensity to fall behind)
    z0 = rng.normal(0.0, 1.15, n)
    young = np.zeros(n)
    young[:persons] = np.select(
        [age_years < 25, age_years < 35, age_years > 55], [0.45, 0.2, -0.2], 0.0
    )
    z0 = np.where(kind == 0, -4.45 + z0 + young + 0.15 * (country == IN), -4.25 + 0.95 * z0)

    seat = place0[persons:]
    org = compose_org_names(rng, pl.city[seat], pl.city_zh[seat], country[persons:])
    org["name"] = render_org_names(org)
    if orgs:
        z0[persons:] -= 1.0 * org["public"]
    reps = np.full(n, -1, np.int64)
    rep_names = pa.nulls(n, pa.string())
    if orgs and persons:
        same = [np.flatnonzero(country[:persons] == c) for c in (CN, IN)]
        pick = rng.random(orgs)
        for c in (CN, IN):
            sel = np.flatnonzero(country[persons:] == c)
            if len(same[c]):
                reps[persons + sel] = same[c][(pick[sel] * len(same[c])).astype(np.int64)]
        has = reps >= 0
        names = np.full(n, None, dtype=object)
        names[has] = full_names(book, given[reps[has]], family[reps[has]], country[reps[has]] == CN)
        rep_names = pa.array(names, pa.string())

    birth_place = np.where(rng.random(n) < 0.8, place0, _pick_place(rng, pl, np.full(n, CN)))
    person_cn = (kind == 0) & (country == CN)
    person_in = (kind == 0) & (country == IN)
    org_cn = (kind == 1) & (country == CN)
    ric = ric_numbers(rng, pl.area_code[birth_place], dob, sex, person_cn)
    initials = np.array([ord(name[0].upper()) for name in book.names], dtype=np.uint8)
    pan = pan_numbers(rng, initials[np.maximum(family, 0)], person_in & (rng.random(n) < 0.85))
    aad = aadhaar_numbers(rng, person_in & (rng.random(n) < 0.95))
    public = np.zeros(n, bool)
    public[persons:] = org["public"]
    uscc = uscc_numbers(rng, pl.area_code[place0], public, org_cn & (rng.random(n) < 0.97))
    return Population(
        n_persons=persons,
        n_orgs=orgs,
        kind=kind,
        country=country,
        sex=sex,
        dob=dob,
        given=given,
        family=family,
        org_name=pa.concat_arrays([pa.nulls(persons, pa.string()), org["name"]]),
        org_parts=org,
        legal_rep=rep_names,
        legal_rep_subject=reps,
        line1=line1,
        line2=line2,
        place=place,
        postcode=postcode,
        move_month=move_month,
        ric=ric,
        pan=pan,
        aadhaar=aad,
        uscc=uscc,
        z0=z0,
        age_band=age_band,
        book=book,
        places=pl,
    )
