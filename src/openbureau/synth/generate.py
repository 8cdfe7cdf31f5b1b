"""Turn a month's batches into each furnisher's file: the catalogue's columns, the identity
as that furnisher knows the subject, the furnisher's writing habits, and a few broken rows
for the ingest quarantine. Also the ground truth of every row."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from openbureau.catalogue.model import COMMON_COLUMNS, IDENTITY_COLUMNS, RECORD_TYPES
from openbureau.synth.furnishers import FURNISHERS, FurnisherSpec, identity_views
from openbureau.synth.records import Batch, iso
from openbureau.synth.rules import corrupt_last_char
from openbureau.synth.vocab import ADDRESS_ABBREVIATIONS
from openbureau.synth.world import World

#: share of rows made invalid on purpose (bad identifier check character or impossible date)
ERROR_RATE = 0.002
_KIND_TYPES = {"int": pa.int64(), "money": pa.int64(), "bool": pa.bool_()}
TRUTH_SCHEMA = pa.schema(
    [
        ("furnisher_id", pa.string()),
        ("record_id", pa.string()),
        ("version", pa.int64()),
        ("true_subject_id", pa.string()),
        ("injected_error", pa.string()),
    ]
)


def furnisher_schema(spec: FurnisherSpec) -> pa.Schema:
    """Columns of a furnisher's files: common, identity, then its record types' fields."""
    fields: dict[str, pa.DataType] = {}
    for f in COMMON_COLUMNS + IDENTITY_COLUMNS:
        fields[f.name] = _KIND_TYPES.get(f.kind, pa.string())
    for rt in spec.record_types:
        for f in RECORD_TYPES[rt].fields:
            fields.setdefault(f.name, _KIND_TYPES.get(f.kind, pa.string()))
    return pa.schema(list(fields.items()))


def subject_ids(n_persons: int, n_orgs: int) -> pa.Array:
    """True subject identifiers: P0000001 ... for persons, O0000001 ... for organisations."""
    num = pc.cast(pa.array(np.r_[np.arange(n_persons), np.arange(n_orgs)] + 1), pa.string())
    num = pc.utf8_lpad(num, 7, "0")
    prefix = pa.array(np.r_[np.full(n_persons, "P"), np.full(n_orgs, "O")])
    return pc.binary_join_element_wise(prefix, num, "")


class Assembler:
    def __init__(self, world: World) -> None:
        self.world = world
        pop = world.pop
        self.schemas = [furnisher_schema(f) for f in FURNISHERS]
        self.subject_ids = subject_ids(pop.n_persons, pop.n_orgs)
        self.city = pa.array(pop.places.city, pa.string())
        self.alias = pa.array(pop.places.alias, pa.string())
        self.region = pa.array(pop.places.region, pa.string())
        self.country = pa.array(np.where(pop.places.country == 0, "CN", "IN"))
        self.types = {f.name: f.type for schema in self.schemas for f in schema}

    def _identity(
        self, furn: np.ndarray, subj: np.ndarray, rel: np.ndarray, t: int
    ) -> dict[str, pa.Array]:
        """Identity columns of every row as its furnisher knows the subject in month `t`."""
        w = self.world
        pop = w.pop
        known = np.flatnonzero(rel >= 0)
        drawn = np.flatnonzero(rel < 0)
        if not len(drawn):
            ident = w.ident.take(pa.array(rel))
        elif not len(known):
            ident = identity_views(pop, furn, subj, w.seed, w.noise)
        else:  # e.g. the tax office: returns of known taxpayers, penalties drawn on demand
            parts = [
                w.ident.take(pa.array(rel[known])),
                identity_views(pop, furn[drawn], subj[drawn], w.seed, w.noise),
            ]
            back = np.empty(len(rel), np.int64)
            back[np.concatenate([known, drawn])] = np.arange(len(rel))
            ident = pa.concat_tables(parts).take(pa.array(back))
        ident = ident.combine_chunks()
        moved = ident.column("addr_switch").to_numpy() <= t
        addr = pa.array(2 * subj + moved)
        place = pa.array(pop.place[2 * subj + moved])
        none = pa.nulls(len(subj), pa.string())
        cols = {
            name: ident.column(name).combine_chunks()
            for name in (
                "subject_kind",
                "given_name",
                "family_name",
                "org_name",
                "date_of_birth",
                "national_id_scheme",
                "national_id",
            )
        }
        cols["address_line1"] = pop.line1.take(addr)
        cols["address_line2"] = pc.if_else(
            ident.column("drop_line2").combine_chunks(), none, pop.line2.take(addr)
        )
        cols["city"] = pc.if_else(
            ident.column("city_alias").combine_chunks(),
            self.alias.take(place),
            self.city.take(place),
        )
        cols["region"] = self.region.take(place)
        cols["postcode"] = pc.if_else(
            ident.column("drop_postcode").combine_chunks(), none, pop.postcode.take(addr)
        )
        cols["country"] = self.country.take(place)
        return cols

    def month(self, t: int, batches: list[Batch]) -> list[tuple[int, pa.Table, pa.Table]]:
        """(furnisher index, file table, truth table) for every furnisher with rows in `t`."""
        rng = np.random.default_rng([self.world.seed, 5, t])
        if not batches:
            return []
        furn = np.concatenate([b.furn for b in batches])
        subj = np.concatenate([b.subj for b in batches])
        rel = np.concatenate([b.rel for b in batches])
        cols: dict[str, pa.Array] = {
            "record_type": pa.concat_arrays([pa.repeat(b.record_type, len(b)) for b in batches]),
            "record_id": pa.concat_arrays([b.record_id for b in batches]),
            "reported_on": iso(np.concatenate([b.reported_on for b in batches])),
            "version": pa.array(
                np.concatenate(
                    [
                        np.ones(len(b), np.int64)
                        if b.version is None
                        else b.version.astype(np.int64)
                        for b in batches
                    ]
                )
            ),
        }
        for name in {k for b in batches for k in b.fields}:
            typ = self.types[name]
            cols[name] = pa.concat_arrays(
                [
                    b.fields[name].cast(typ) if name in b.fields else pa.nulls(len(b), typ)
                    for b in batches
                ]
            )
        month = pa.table(cols)
        out = []
        for fi, spec in enumerate(FURNISHERS):
            rows = np.flatnonzero(furn == fi)
            if not len(rows):
                continue
            schema = self.schemas[fi]
            n = len(rows)
            part = month.select([f.name for f in schema if f.name in cols]).take(pa.array(rows))
            ident = self._identity(furn[rows], subj[rows], rel[rows], t)
            table = pa.Table.from_arrays(
                [
                    ident[f.name]
                    if f.name in ident
                    else part.column(f.name)
                    if f.name in cols
                    else pa.nulls(n, f.type)
                    for f in schema
                ],
                schema=schema,
            )
            table, error = _inject_errors(_style(table, spec).combine_chunks(), rng)
            truth = pa.table(
                {
                    "furnisher_id": pa.repeat(spec.furnisher_id, n),
                    "record_id": table.column("record_id"),
                    "version": table.column("version"),
                    "true_subject_id": self.subject_ids.take(pa.array(subj[rows])),
                    "injected_error": error,
                },
                schema=TRUTH_SCHEMA,
            )
            out.append((fi, table, truth))
        return out


def _replace(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    i = table.schema.get_field_index(name)
    return table.set_column(i, table.schema.field(i), values)


def _style(table: pa.Table, spec: FurnisherSpec) -> pa.Table:
    """A furnisher's habits: names in capitals, abbreviated street words."""
    if spec.upper_case:
        for name in ("given_name", "family_name", "org_name"):
            table = _replace(table, name, pc.utf8_upper(table.column(name)))
    if spec.abbreviates:
        for name in ("address_line1", "address_line2"):
            col = table.column(name)
            for long, short in ADDRESS_ABBREVIATIONS:
                col = pc.replace_substring(col, long, short)
            table = _replace(table, name, col)
    return table


def _scatter(values: pa.Array, mask: np.ndarray) -> pa.Array:
    """An array as long as `mask`: `values` in order where it is set, null elsewhere."""
    pos = np.where(mask, np.cumsum(mask) - 1, len(values))
    return pa.concat_arrays([values, pa.nulls(1, values.type)]).take(pa.array(pos))


def _inject_errors(table: pa.Table, rng: np.random.Generator) -> tuple[pa.Table, pa.Array]:
    """Break ERROR_RATE of the rows: a national id with a wrong check character where one is
    sent, otherwise an impossible date of birth or report date. Returns the kind per row."""
    n = len(table)
    hit = rng.random(n) < ERROR_RATE
    shift = rng.integers(0, 9, n)
    pick_id = rng.random(n) < 0.6
    nid = table.column("national_id").combine_chunks()
    dob = table.column("date_of_birth").combine_chunks()
    has_id = pc.is_valid(nid).to_numpy(zero_copy_only=False)
    has_dob = pc.is_valid(dob).to_numpy(zero_copy_only=False)
    bad_id = hit & has_id & pick_id
    bad_dob = hit & ~bad_id & has_dob
    bad_rep = hit & ~bad_id & ~has_dob
    kind = np.where(bad_id, 0, np.where(bad_dob | bad_rep, 1, 2))
    error = pa.array(["bad_national_id", "bad_date", None], pa.string()).take(pa.array(kind))
    if bad_id.any():
        sel = pa.array(bad_id)
        last = pc.utf8_slice_codeunits(nid.filter(sel), -1).to_numpy(zero_copy_only=False)
        last_codes = np.char.encode(last.astype("U1"), "ascii").view(np.uint8)
        new_last = corrupt_last_char(last_codes, shift[bad_id]).view("S1").astype(str)
        broken = pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(nid.filter(sel), 0, -1), pa.array(new_last), ""
        )
        table = _replace(table, "national_id", pc.if_else(sel, _scatter(broken, bad_id), nid))
    if bad_dob.any():
        year = pc.utf8_slice_codeunits(dob, 0, 4)
        table = _replace(
            table,
            "date_of_birth",
            pc.if_else(pa.array(bad_dob), pc.binary_join_element_wise(year, "-02-30", ""), dob),
        )
    if bad_rep.any():
        rep = table.column("reported_on").combine_chunks()
        table = _replace(
            table,
            "reported_on",
            pc.if_else(
                pa.array(bad_rep),
                pc.binary_join_element_wise(pc.utf8_slice_codeunits(rep, 0, 7), "-32", ""),
                rep,
            ),
        )
    return table, error
