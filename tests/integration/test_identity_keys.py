"""The keys an inquiry finds a file by (`subject_keys`) stay right across incremental
resolves: a name + date of birth shared by two people identifies neither, however many
later runs touch one of them, and a touched subject keeps the keys of all its variants."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from sqlalchemy import select

from factories import make_bureau, write_csv
from openbureau.identity.publish import write_keys
from openbureau.identity.rules import person_key, token_key
from openbureau.identity.service import resolve
from openbureau.ingest.service import add_furnisher, ingest_file
from openbureau.inquiries.matching import IdentityQuery, find_subject
from openbureau.storage.ledger import subject_keys

COLUMNS = [
    "record_type", "record_id", "reported_on", "version", "subject_kind", "given_name",
    "family_name", "org_name", "date_of_birth", "national_id_scheme", "national_id",
    "address_line1", "city", "postcode", "country",
]  # fmt: skip
#: Two people with one name and one birthday, told apart by their resident ids.
LI_NA_1, LI_NA_2 = "110105198503070019", "110105198503070027"
LI_NA = {"subject_kind": "person", "given_name": "Na", "family_name": "Li"}
DOB = date(1985, 3, 7)


def _profile(record_id: str, national_id: str | None, address: str, postcode: str) -> dict:
    return {
        "record_type": "profile", "record_id": record_id, "reported_on": "2025-06-30",
        "version": "1", "subject_kind": "person", "given_name": "Na", "family_name": "Li",
        "date_of_birth": DOB.isoformat(), "national_id_scheme": "CN-RIC" if national_id else "",
        "national_id": national_id or "", "address_line1": address, "city": "Beijing",
        "postcode": postcode, "country": "CN",
    }  # fmt: skip


def _ingest(bureau, path, records: list[dict]) -> None:
    receipt = ingest_file(bureau, write_csv(path, records, COLUMNS), "bank-01")
    assert receipt.rows_accepted == len(records), receipt


def _find(bureau, **identity):
    return find_subject(bureau.ledger, IdentityQuery(**identity), bureau.settings.token_key_bytes)


def _by_id(bureau, national_id: str):
    return _find(bureau, **LI_NA, national_id_scheme="CN-RIC", national_id=national_id)


@pytest.fixture
def two_li_nas(tmp_path):
    bureau = make_bureau(tmp_path)
    add_furnisher(bureau, "bank-01", "bank", "Bank One")
    _ingest(bureau, tmp_path / "first.csv", [
        _profile("p-1", LI_NA_1, "3 Xinyuan Street", "100027"),
        _profile("p-2", LI_NA_2, "88 Wangfujing Avenue", "100006"),
        # an organisation too, so that both kinds have a model and the next run can be
        # incremental
        {"record_type": "profile", "record_id": "o-1", "reported_on": "2025-06-30",
         "version": "1", "subject_kind": "organisation", "org_name": "Beijing Tea Co Ltd",
         "address_line1": "1 Qianmen Street", "city": "Beijing", "postcode": "100051",
         "country": "CN"},
    ])  # fmt: skip
    assert resolve(bureau).mode == "full"
    return bureau


def test_a_shared_name_and_birthday_finds_nobody_after_a_full_run(two_li_nas):
    first, second = _by_id(two_li_nas, LI_NA_1), _by_id(two_li_nas, LI_NA_2)
    assert first is not None and second is not None and first != second
    assert _find(two_li_nas, **LI_NA, date_of_birth=DOB) is None


def test_an_incremental_run_touching_one_of_them_does_not_give_it_the_shared_key(
    two_li_nas, tmp_path
):
    first, second = _by_id(two_li_nas, LI_NA_1), _by_id(two_li_nas, LI_NA_2)
    # a new record of the first Li Na (her id, a new address): the run touches her file only
    _ingest(two_li_nas, tmp_path / "second.csv", [
        _profile("p-3", LI_NA_1, "17 Dongzhimen Inner Street", "100007"),
    ])  # fmt: skip
    summary = resolve(two_li_nas)
    assert summary.mode == "incremental" and summary.new_variants == 1
    assert _by_id(two_li_nas, LI_NA_1) == first and _by_id(two_li_nas, LI_NA_2) == second
    assert _find(two_li_nas, **LI_NA, date_of_birth=DOB) is None
    # and the run after that, with nothing new, changes nothing
    assert resolve(two_li_nas).mode == "up-to-date"
    assert _find(two_li_nas, **LI_NA, date_of_birth=DOB) is None


def test_a_key_shared_beyond_the_touched_subjects_neighbours_is_not_restored(tmp_path):
    """A touched subject's namesake holds an ID it shares with a third subject (kept apart by
    the mixed-file guard): that ID's key identifies neither, and stays out."""
    bureau = make_bureau(tmp_path)

    def variant(subject_id, id_key, name, dob):
        return {"subject_id": subject_id, "id_key": id_key, "name_key": name,
                "subject_kind": "person", "dob": dob}  # fmt: skip

    everything = pd.DataFrame([
        variant("A", None, "wei zhang", "1990-01-01"),  # the run touches A only
        variant("B", "CN-RIC:X", "wei zhang", "1970-05-05"),  # A's namesake, holds ID X
        variant("C", "CN-RIC:X", "li na", "1970-05-05"),  # holds ID X too
    ])  # fmt: skip
    with bureau.ledger.begin() as conn:
        write_keys(conn, everything, None)
        full = set(conn.execute(select(subject_keys.c.key, subject_keys.c.subject_id)))
        write_keys(conn, everything, {"A"})
        incremental = set(conn.execute(select(subject_keys.c.key, subject_keys.c.subject_id)))
    assert token_key("CN-RIC", "X") not in {k for k, _ in full}
    assert (
        incremental
        == full
        == {
            (person_key("wei zhang", "1990-01-01"), "A"),
            (person_key("wei zhang", "1970-05-05"), "B"),
            (person_key("li na", "1970-05-05"), "C"),
        }
    )


def test_a_bureau_of_persons_only_resolves_incrementally_and_takes_its_first_firm(tmp_path):
    """No organisation yet, so no organisation model: the runs are incremental anyway, and
    the first organisation's batch gets a model (the shipped one, too few to train) and a
    file of its own."""
    bureau = make_bureau(tmp_path)
    add_furnisher(bureau, "bank-01", "bank", "Bank One")
    _ingest(
        bureau, tmp_path / "first.csv", [_profile("p-1", LI_NA_1, "3 Xinyuan Street", "100027")]
    )
    assert resolve(bureau).mode == "full"
    assert not (bureau.lake.root / "links" / "model-organisation.json").exists()
    _ingest(
        bureau,
        tmp_path / "second.csv",
        [_profile("p-2", LI_NA_2, "88 Wangfujing Avenue", "100006")],
    )
    second = resolve(bureau)
    assert (second.mode, second.new_variants, second.subjects) == ("incremental", 1, 2)
    firm = {"record_type": "profile", "record_id": "o-1", "reported_on": "2025-06-30",
            "version": "1", "subject_kind": "organisation", "org_name": "Beijing Tea Co Ltd",
            "address_line1": "1 Qianmen Street", "city": "Beijing", "postcode": "100051",
            "country": "CN"}  # fmt: skip
    _ingest(bureau, tmp_path / "third.csv", [firm])
    third = resolve(bureau)
    assert (third.mode, third.new_variants, third.subjects) == ("incremental", 1, 3)
    assert (bureau.lake.root / "links" / "model-organisation.json").exists()
    assert _by_id(bureau, LI_NA_1) != _by_id(bureau, LI_NA_2)
