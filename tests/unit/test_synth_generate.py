"""A small synthetic population, end to end: layout, catalogue columns, licences, valid
identifiers, ground truth, coverage and determinism."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from openbureau.catalogue.identifiers import InvalidIdentifier, compact
from openbureau.catalogue.model import FURNISHER_KINDS, RECORD_TYPES, all_input_columns
from openbureau.catalogue.rules import check_columns
from openbureau.synth import generate_population
from openbureau.synth.furnishers import FURNISHERS

PERSONS, ORGS, SEED = 400, 40, 11
SPECS = {f.furnisher_id: f for f in FURNISHERS}
DATE_COLUMNS = [name for name, f in all_input_columns().items() if f.kind == "date"]


def _read_csv(path: Path) -> pa.Table:
    """A furnisher file with every column as text, empty values as null."""
    with open(path, encoding="utf-8") as fh:
        names = [h.strip('"') for h in fh.readline().strip().split(",")]
    return pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )


def _keys(table: pa.Table) -> list[tuple[str, str, int]]:
    cols = [table.column(c).to_pylist() for c in ("furnisher_id", "record_id", "version")]
    return [(f, r, int(v)) for f, r, v in zip(*cols, strict=True)]


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "pop"
    calls = []
    summary = generate_population(PERSONS, ORGS, SEED, out, progress=lambda *a: calls.append(a))
    files = {}
    for path in sorted((out / "files").glob("*/*.csv")):
        files[(path.parent.name, path.stem)] = _read_csv(path)
    records = pa.concat_tables(
        t.append_column("furnisher_id", pa.array([k[0]] * len(t))).select(
            [
                "furnisher_id",
                "record_id",
                "version",
                "record_type",
                "national_id_scheme",
                "national_id",
                "given_name",
                "family_name",
                "org_name",
                "date_of_birth",
            ]
        )
        for k, t in files.items()
    )
    truth = pq.read_table(out / "truth" / "records.parquet")
    return {
        "out": out,
        "summary": summary,
        "files": files,
        "records": records,
        "truth": truth,
        "progress": calls,
    }


def test_layout(synth):
    out = synth["out"]
    assert (out / "README.txt").read_text().count("truth/") >= 1
    assert "EVALUATION ONLY" in (out / "README.txt").read_text()
    furnishers = pacsv.read_csv(out / "furnishers.csv").to_pylist()
    assert {f["furnisher_id"] for f in furnishers} == set(SPECS)
    assert {f["kind"] for f in furnishers} == set(FURNISHER_KINDS)
    assert (out / "truth" / "subjects.parquet").exists()
    months = {m for _, m in synth["files"]}
    assert min(months) == "2022-11" and max(months) == "2026-10"
    assert synth["summary"].files == len(synth["files"])
    assert synth["summary"].total_records == len(synth["records"])
    assert synth["progress"][-1] == ("synth", 48, 48)


def test_every_column_is_in_the_catalogue(synth):
    for (fid, _), table in synth["files"].items():
        assert check_columns(table.column_names) == [], fid
        assert table.column_names[:4] == ["record_type", "record_id", "reported_on", "version"]


def test_furnishers_send_only_licensed_types(synth):
    for (fid, _), table in synth["files"].items():
        kind = SPECS[fid].kind
        for rt in set(table.column("record_type").to_pylist()):
            assert kind in RECORD_TYPES[rt].furnisher_kinds, (fid, rt)
            assert rt in SPECS[fid].record_types


def test_empty_values_are_empty_not_null(synth):
    text = next((synth["out"] / "files" / "bank-01").glob("*.csv")).read_text()
    assert "null" not in text.lower()
    assert ",," in text


def test_truth_covers_every_record(synth):
    rec = synth["records"].select(["furnisher_id", "record_id", "version"])
    keys = {(f, r, int(v)) for f, r, v in zip(*(c.to_pylist() for c in rec.columns), strict=True)}
    assert len(keys) == len(rec), "a (furnisher, record id, version) appears twice"
    truth = synth["truth"]
    tkeys = set(
        zip(
            truth.column("furnisher_id").to_pylist(),
            truth.column("record_id").to_pylist(),
            truth.column("version").to_pylist(),
            strict=True,
        )
    )
    assert tkeys == keys
    assert truth.column("true_subject_id").null_count == 0


def test_national_ids_are_valid_except_injected_errors(synth):
    rec = synth["records"]
    truth = synth["truth"]
    err = dict(
        zip(
            zip(
                truth.column("furnisher_id").to_pylist(),
                truth.column("record_id").to_pylist(),
                truth.column("version").to_pylist(),
                strict=True,
            ),
            truth.column("injected_error").to_pylist(),
            strict=True,
        )
    )
    checked = 0
    for f, r, v, scheme, nid in zip(
        *(
            rec.column(c).to_pylist()
            for c in ("furnisher_id", "record_id", "version", "national_id_scheme", "national_id")
        ),
        strict=True,
    ):
        if nid is None:
            continue
        checked += 1
        try:
            compact(scheme, nid)
            valid = True
        except InvalidIdentifier:
            valid = False
        assert valid == (err[(f, r, int(v))] != "bad_national_id"), (f, r, scheme, nid)
    assert checked > 1000


def _parses(value: str, month: bool) -> bool:
    try:
        date.fromisoformat(value + "-01" if month else value)
    except ValueError:
        return False
    return len(value) == (7 if month else 10)


def test_dates_parse_except_injected_errors(synth):
    # strictly: Arrow's strptime would silently turn 1985-02-30 into 1985-03-02
    bad = set()
    for (fid, _), table in synth["files"].items():
        for col in DATE_COLUMNS + ["reporting_month", "tax_period"]:
            if col not in table.column_names:
                continue
            month = col in ("reporting_month", "tax_period")
            for rid, value in zip(
                table.column("record_id").to_pylist(), table.column(col).to_pylist(), strict=True
            ):
                if value is not None and not _parses(value, month):
                    bad.add((fid, rid))
    truth = synth["truth"].filter(pc.equal(synth["truth"].column("injected_error"), "bad_date"))
    assert bad == set(
        zip(
            truth.column("furnisher_id").to_pylist(),
            truth.column("record_id").to_pylist(),
            strict=True,
        )
    )
    assert 0 < len(bad) < 0.01 * len(synth["records"])


def test_a_furnisher_always_spells_a_subject_the_same_way(synth):
    rec = synth["records"]
    subj = dict(
        zip(
            zip(
                synth["truth"].column("furnisher_id").to_pylist(),
                synth["truth"].column("record_id").to_pylist(),
                strict=True,
            ),
            synth["truth"].column("true_subject_id").to_pylist(),
            strict=True,
        )
    )
    seen: dict[tuple[str, str], set] = defaultdict(set)
    across: dict[str, set] = defaultdict(set)
    for f, r, g, fam, org in zip(
        *(
            rec.column(c).to_pylist()
            for c in ("furnisher_id", "record_id", "given_name", "family_name", "org_name")
        ),
        strict=True,
    ):
        s = subj[(f, r)]
        seen[(f, s)].add((g, fam, org))
        across[s].add((g and g.lower(), fam and fam.lower(), org and org.lower()))
    assert all(len(v) == 1 for v in seen.values())
    # but furnishers disagree about some subjects (typos, romanisations, legal forms)
    assert sum(len(v) > 1 for v in across.values()) >= 10


def test_population_has_good_thin_and_defaulter_files(synth):
    subjects = pq.read_table(synth["out"] / "truth" / "subjects.parquet").to_pylist()
    segments = {s["segment"] for s in subjects}
    assert {"regular", "profile_only", "new_to_credit", "none"} <= segments
    assert {s["sex"] for s in subjects if s["subject_kind"] == "person"} == {"female", "male"}
    assert all(s["hidden_risk"] is not None for s in subjects)
    truth = synth["truth"]
    rec = synth["records"]
    sid = dict(zip(_keys(truth), truth.column("true_subject_id").to_pylist(), strict=True))
    per_subject: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key, rt in zip(_keys(rec), rec.column("record_type").to_pylist(), strict=True):
        per_subject[sid[key]].append((rt, key[0]))
    thin = [s for s, rows in per_subject.items() if s.startswith("P") and len(rows) <= 3]
    good = [
        s for s, rows in per_subject.items() if sum(rt == "credit_account" for rt, _ in rows) >= 36
    ]
    defaulters = {
        s
        for s, rows in per_subject.items()
        if any(rt == "judgment_default_finding" for rt, _ in rows)
    }
    assert len(thin) >= 10 and len(good) >= 50 and len(defaulters) >= 2
    assert {
        "court_judgment",
        "invoice_payment",
        "tax_compliance",
        "profile",
        "credit_account",
    } <= set(synth["summary"].records)


def test_same_arguments_give_the_same_bytes(synth, tmp_path):
    again = tmp_path / "again"
    generate_population(PERSONS, ORGS, SEED, again)

    def digest(root: Path) -> dict[str, str]:
        return {
            str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }

    assert digest(again) == digest(synth["out"])


def test_a_different_seed_gives_different_people(tmp_path):
    a = generate_population(30, 3, 1, tmp_path / "a", months=6)
    b = generate_population(30, 3, 2, tmp_path / "b", months=6)
    ta = pq.read_table(a.out / "truth" / "subjects.parquet").column("risk_logit")
    tb = pq.read_table(b.out / "truth" / "subjects.parquet").column("risk_logit")
    assert ta != tb


@pytest.mark.parametrize("file_format", ["parquet", "jsonl"])
def test_other_formats_carry_the_same_columns(tmp_path, file_format):
    summary = generate_population(
        40,
        5,
        3,
        tmp_path / file_format,
        file_format=file_format,
        end_month=date(2025, 6, 1),
        months=6,
    )
    paths = sorted((summary.out / "files").glob(f"*/*.{file_format}"))
    assert len(paths) == summary.files > 0
    total = 0
    for path in paths:
        if file_format == "parquet":
            table = pq.read_table(path)
            columns = table.column_names
            total += len(table)
        else:
            lines = path.read_text(encoding="utf-8").splitlines()
            first = json.loads(lines[0])
            columns = list(first)
            assert isinstance(first["version"], int)
            total += len(lines)
        assert not [p for p in check_columns(columns) if p.rule != "unknown"]
        assert set(columns) <= set(all_input_columns())
    assert total == summary.total_records


def test_high_noise_sends_fewer_national_ids(tmp_path):
    def share(noise: str) -> float:
        s = generate_population(150, 15, 5, tmp_path / noise, noise=noise, months=6)
        tables = [_read_csv(p) for p in (s.out / "files").glob("*/*.csv")]
        ids = sum(len(t) - t.column("national_id").null_count for t in tables)
        return ids / sum(len(t) for t in tables)

    assert share("high") < 0.6 * share("default")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"noise": "loud"}, "noise"), ({"file_format": "xml"}, "format")],
)
def test_bad_arguments_are_refused(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate_population(10, 1, 1, tmp_path / "x", **kwargs)


@pytest.mark.parametrize(
    ("persons", "orgs", "kinds"), [(0, 12, {"organisation"}), (12, 0, {"person"})]
)
def test_persons_or_organisations_alone(tmp_path, persons, orgs, kinds):
    s = generate_population(persons, orgs, 2, tmp_path / "p", months=3)
    subjects = pq.read_table(s.out / "truth" / "subjects.parquet")
    assert set(subjects.column("subject_kind").to_pylist()) == kinds
    assert len(subjects) == persons + orgs
