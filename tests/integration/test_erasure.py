"""After a purge, the identities no record carries any more are erased: from the identity
state (names, birth dates, tokens), the ledger's subjects, keys, scores and review queue;
audited; repeatable; finished by the next run if interrupted; undone for a subject who is
furnished again."""

from __future__ import annotations

import fcntl
import json
import threading
from datetime import UTC, date, datetime, timedelta

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update

from factories import write_csv
from keys import bearer, issue_key
from openbureau.access.rules import Caller
from openbureau.api.app import create_app
from openbureau.audit.service import verify
from openbureau.bootstrap import build_bureau
from openbureau.config import Settings
from openbureau.disputes.service import answer_dispute
from openbureau.identity import erasure, state
from openbureau.identity.service import resolve
from openbureau.ingest.service import add_furnisher, ingest_file
from openbureau.lists.service import remove_entry
from openbureau.reports.service import build_report
from openbureau.retention.service import purge
from openbureau.storage.ledger import (
    audit_log,
    disputes,
    list_entries,
    review_pairs,
    scores,
    subject_keys,
    subjects,
)

AS_OF = date(2025, 6, 30)
COLUMNS = [
    "record_type", "record_id", "reported_on", "subject_kind", "given_name", "family_name",
    "date_of_birth", "national_id_scheme", "national_id", "city", "country", "account_id",
    "account_type", "date_opened", "balance", "days_past_due", "account_status",
    "reporting_month", "currency",
]  # fmt: skip
LI = {"given_name": "Na", "family_name": "Li", "date_of_birth": "1980-01-01",
      "national_id": "110105198001010016", "city": "Beijing"}  # fmt: skip
WEI = {"given_name": "Wei", "family_name": "Zhang", "date_of_birth": "1975-11-11",
       "national_id": "110105197511110039", "city": "Beijing"}  # fmt: skip
# another variant of Wei, linked by his ID; the most-recorded before the purge
WEI_MOVED = {**WEI, "given_name": "Wey", "city": "Shanghai"}
CHEN = {"given_name": "Jie", "family_name": "Chen", "date_of_birth": "1990-02-02",
        "national_id": "", "city": "Wuhan"}  # fmt: skip


def _month(record_id: str, month: str, who: dict) -> dict:
    last_day = (date.fromisoformat(f"{month}-01") + timedelta(days=31)).replace(day=1)
    return {
        "record_type": "credit_account", "record_id": record_id,
        "reported_on": (last_day - timedelta(days=1)).isoformat(), "subject_kind": "person",
        "national_id_scheme": "CN-RIC" if who["national_id"] else "", "country": "CN",
        "account_id": record_id, "account_type": "personal_loan", "date_opened": "2010-01-05",
        "balance": "1000", "days_past_due": "0", "account_status": "current",
        "reporting_month": month, "currency": "CNY", **who,
    }  # fmt: skip


def _ingest(bureau, tmp_path, name: str, records: list[dict]) -> None:
    receipt = ingest_file(bureau, write_csv(tmp_path / name, records, COLUMNS), "bank-01")
    assert receipt.rows_accepted == len(records), receipt


@pytest.fixture
def bureau(tmp_path, fresh_ledger_url):
    """On SQLite and on PostgreSQL (the ledger's side of the erasure runs on both)."""
    settings = Settings(home=tmp_path / "home", environment="test", ledger_url=fresh_ledger_url)
    bureau = build_bureau(settings)
    add_furnisher(bureau, "bank-01", "bank", "Bank One")
    # credit months are kept 84 months: everything from 2016-2017 has expired by AS_OF
    _ingest(bureau, tmp_path, "old.csv", [
        _month("li-1", "2016-03", LI), _month("li-2", "2017-02", LI),
        _month("wei-1", "2016-05", WEI), _month("wey-1", "2016-06", WEI_MOVED),
        _month("wey-2", "2016-07", WEI_MOVED), _month("wey-3", "2016-08", WEI_MOVED),
        _month("wey-4", "2016-09", WEI_MOVED),
    ])  # fmt: skip
    _ingest(bureau, tmp_path, "recent.csv", [
        _month("wei-2", "2024-01", WEI), _month("wei-3", "2024-02", WEI),
        _month("chen-1", "2025-03", CHEN),
    ])  # fmt: skip
    resolve(bureau)
    return bureau


def _links(bureau) -> list[dict]:
    return pq.read_table(bureau.lake.links_path).to_pylist()


def _subject_of(bureau, given_name: str, city: str | None = None) -> str:
    (subject,) = {
        r["subject_id"]
        for r in _links(bureau)
        if r["given_name"] == given_name and city in (None, r["city"])
    }
    return subject


def _variant_of(bureau, given_name: str, city: str) -> str:
    (key,) = [
        r["identity_key"]
        for r in _links(bureau)
        if r["given_name"] == given_name and r["city"] == city.lower()
    ]
    return key


def _rows(bureau, table, *where) -> list:
    with bureau.ledger.connect() as conn:
        return conn.execute(select(table).where(*where)).all()


def _score(conn, subject_id: str) -> None:
    conn.execute(
        insert(scores).values(
            subject_id=subject_id,
            as_of=AS_OF,
            model_version="m1",
            scorable=True,
            score=700,
            reasons=[],
            published_at=datetime.now(UTC),
        )  # fmt: skip
    )


def _pair(conn, left: str, right: str, status: str) -> None:
    conn.execute(
        insert(review_pairs).values(
            pair_id=f"{left[:8]}-{right[:8]}",
            variant_l=left,
            variant_r=right,
            match_probability=0.8,
            evidence={"left": {"given_name": "x"}},
            status=status,
            created_at=datetime.now(UTC),
        )  # fmt: skip
    )


def _dispute(conn, subject_id: str, record_id: str) -> str:
    dispute_id = f"d{record_id.replace('-', ''):0>24}"[:25]
    conn.execute(
        insert(disputes).values(
            dispute_id=dispute_id,
            subject_id=subject_id,
            furnisher_id="bank-01",
            record_id=record_id,
            record_type="credit_account",
            reason="my own words",
            salt="00" * 16,
            opened_at=datetime.now(UTC),
            opened_by="test",
            due_on=AS_OF,
            status="answered",
            outcome="verified",
            note="their words",
            answered_at=datetime.now(UTC),
            answered_by="test",
        )  # fmt: skip
    )
    return dispute_id


def _list_entry(conn, subject_id: str, record_id: str) -> str:
    entry_id = f"e{record_id.replace('-', ''):0>24}"[:25]
    conn.execute(
        insert(list_entries).values(
            entry_id=entry_id,
            list_id="judgment_defaulters",
            subject_id=subject_id,
            furnisher_id="bank-01",
            record_id=record_id,
            record_type="judgment_default_finding",
            grounds="operator's words",
            salt="00" * 16,
            term_months=24,
            proposed_at=datetime.now(UTC),
            proposed_by="test",
            proposed_party="ops-a",
            objection_ends_on=AS_OF,
            objection="subject's words",
            objected_at=datetime.now(UTC),
            status="listed",
            decided_at=datetime.now(UTC),
            decided_by="test",
            decision_note="reviewer's words",
            # as an organisation's entry names its representative (a name from the file)
            legal_representative="A. Representative",
            listed_on=AS_OF,
            ends_on=date(2099, 1, 1),
        )  # fmt: skip
    )
    return entry_id


def _entries(bureau) -> list:
    return _rows(bureau, audit_log)


def test_the_setting(bureau):
    """Three people, Wei in two variants of one subject (his ID links them)."""
    wei = _subject_of(bureau, "Wei")
    assert wei == _subject_of(bureau, "Wey")
    (row,) = _rows(bureau, subjects, subjects.c.subject_id == wei)
    assert row.display_name == "Wey Zhang"  # the most-recorded variant's name
    assert len({r["subject_id"] for r in _links(bureau)}) == 3
    li = _subject_of(bureau, "Na")
    keys = _rows(bureau, subject_keys, subject_keys.c.subject_id == li)
    assert {k.key.split(":")[0] for k in keys} == {"tok", "nd"}


def test_a_purge_erases_every_identity_no_record_carries(bureau):
    li, wei, chen = (_subject_of(bureau, n) for n in ("Na", "Wei", "Jie"))
    li_key, moved_key = _variant_of(bureau, "Na", "Beijing"), _variant_of(bureau, "Wey", "Shanghai")
    wei_key, chen_key = _variant_of(bureau, "Wei", "Beijing"), _variant_of(bureau, "Jie", "Wuhan")
    with bureau.ledger.begin() as conn:
        for subject in (li, wei, chen):
            _score(conn, subject)
        _pair(conn, li_key, chen_key, "different")  # names an erased variant: goes
        _pair(conn, moved_key, wei_key, "same")  # likewise
        _pair(conn, wei_key, chen_key, "open")  # both kept: stays
        li_dispute, wei_dispute = _dispute(conn, li, "li-words"), _dispute(conn, wei, "wei-words")
        # entries resting on records the purge removes (Wei keeps his file, with other records)
        li_entry, wei_entry = _list_entry(conn, li, "li-1"), _list_entry(conn, wei, "wey-1")

    preview = purge(bureau, AS_OF, dry_run=True)
    summary = purge(bureau, AS_OF)

    assert summary.records == 7
    assert summary.list_entries_removed == 2  # the entries resting on records that went
    expected = {
        "dry_run": False, "variants_erased": 2, "variants_recounted": 1,
        "subjects_emptied": 1, "subjects_renamed": 1, "review_pairs_deleted": 2,
    }  # fmt: skip
    assert summary.identities.pop("seconds") > 0 and preview.identities.pop("seconds") > 0
    assert summary.identities == expected
    assert preview.identities == {**expected, "dry_run": True}
    # the identity state: Li and Wei's Shanghai variant are gone, names, dates and tokens
    links = _links(bureau)
    assert {r["identity_key"] for r in links} == {wei_key, chen_key}
    assert {r["identity_key"]: r["n_records"] for r in links} == {wei_key: 2, chen_key: 1}
    text = json.dumps(links, default=str)
    assert (
        "Li" not in {r["family_name"] for r in links}
        and "shanghai" not in text
        and "Wey" not in text
    )
    assert LI["national_id"][-4:] not in text
    # Li's subject keeps its id, and nothing else
    (row_li,) = _rows(bureau, subjects, subjects.c.subject_id == li)
    assert row_li.display_name == erasure.ERASED_NAME and row_li.national_id_masked is None
    assert row_li.erased_at is not None and row_li.subject_kind == "person"
    assert _rows(bureau, subject_keys, subject_keys.c.subject_id == li) == []
    assert _rows(bureau, scores, scores.c.subject_id == li) == []
    # Li's disputes stay (when, which record, the outcome), without the words or their salt
    (gone,) = _rows(bureau, disputes, disputes.c.dispute_id == li_dispute)
    assert (gone.reason, gone.note, gone.salt) == ("(erased)", "(erased)", None)
    assert gone.outcome == "verified"
    (kept,) = _rows(bureau, disputes, disputes.c.dispute_id == wei_dispute)
    assert (kept.reason, kept.note, kept.salt) == ("my own words", "their words", "00" * 16)
    # an answer that comes after the file was emptied keeps none of the furnisher's words
    with bureau.ledger.begin() as conn:
        conn.execute(
            update(disputes).where(disputes.c.dispute_id == li_dispute)
            .values(status="open", outcome=None, note=None, answered_at=None)
        )  # fmt: skip
    answered = answer_dispute(
        bureau, li_dispute, "verified", "Li Na called us on 555-0100", actor="test",
        furnisher_id=None, now=datetime.now(UTC),
    )  # fmt: skip
    assert answered.note == "(erased)"
    (late,) = _rows(bureau, disputes, disputes.c.dispute_id == li_dispute)
    assert late.note == "(erased)"
    assert "555-0100" not in json.dumps([tuple(e) for e in _entries(bureau)], default=str)
    # Li's list entry stays (its list, dates, status) without anyone's words; the record it
    # rested on is gone, so it left its list (as did Wei's, whose record went too)
    (gone,) = _rows(bureau, list_entries, list_entries.c.entry_id == li_entry)
    words = (gone.grounds, gone.objection, gone.decision_note, gone.salt)
    assert words == ("(erased)", "(erased)", "(erased)", None)
    assert gone.legal_representative == "(erased)"
    assert (gone.status, gone.removal_reason) == ("removed", "evidence_changed")
    (kept,) = _rows(bureau, list_entries, list_entries.c.entry_id == wei_entry)
    assert (kept.grounds, kept.objection) == ("operator's words", "subject's words")
    assert kept.legal_representative == "A. Representative"
    assert (kept.status, kept.removal_reason) == ("removed", "evidence_changed")
    # and a step after the erasure keeps none of the operator's words either
    with bureau.ledger.begin() as conn:
        conn.execute(
            update(list_entries).where(list_entries.c.entry_id == li_entry)
            .values(status="listed", removal_reason=None, removed_at=None, removed_by=None)
        )  # fmt: skip
    removed = remove_entry(
        bureau, li_entry, "error", "Li Na's lawyer, 555-0199", now=datetime.now(UTC),
        caller=Caller(party_id="ops-b", party_kind="operator", key_id="k", role="operator"),
    )  # fmt: skip
    assert removed.removal_note == "(erased)"
    assert "555-0199" not in json.dumps([tuple(e) for e in _entries(bureau)], default=str)
    # Wei and Chen keep theirs
    (row,) = _rows(bureau, subjects, subjects.c.subject_id == wei)
    assert row.display_name == "Wei Zhang" and row.erased_at is None
    assert row.national_id_masked and row.national_id_masked.endswith("0039")
    assert len(_rows(bureau, subject_keys, subject_keys.c.subject_id == wei)) == 2
    assert len(_rows(bureau, scores, scores.c.subject_id.in_([wei, chen]))) == 2
    assert [(p.variant_l, p.variant_r) for p in _rows(bureau, review_pairs)] == [
        (wei_key, chen_key)
    ]
    # audited, chain intact
    actions = [(e.action, e.subject_id) for e in _entries(bureau)]
    assert ("subject.emptied", li) in actions and ("identity.erased", None) in actions
    (erased,) = [e for e in _entries(bureau) if e.action == "identity.erased"]
    assert json.loads(erased.payload)["variants_erased"] == 2
    assert verify(bureau.ledger).ok
    # Li's report is empty and says why; Wei's still shows his current records
    report = build_report(bureau, li, AS_OF)
    assert report.records == [] and report.erased_at == row_li.erased_at.replace(tzinfo=UTC)
    assert report.display_name == erasure.ERASED_NAME and report.national_id_masked is None
    assert {r.record_id for r in build_report(bureau, wei, AS_OF).records} == {"wei-2", "wei-3"}


def test_a_second_purge_changes_nothing(bureau):
    purge(bureau, AS_OF)
    before, links = _entries(bureau), bureau.lake.links_path.read_bytes()
    again = purge(bureau, AS_OF)
    assert again.identities["variants_erased"] == again.identities["variants_recounted"] == 0
    assert _entries(bureau) == before and bureau.lake.links_path.read_bytes() == links


def test_an_interrupted_erasure_is_finished_by_the_next_purge(bureau, monkeypatch):
    li = _subject_of(bureau, "Na")

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(state, "commit_state", crash)
    with pytest.raises(OSError, match="disk full"):
        purge(bureau, AS_OF)
    # the ledger forgot Li; the identity state still names Li until the next run
    assert _rows(bureau, subjects, subjects.c.subject_id == li)[0].erased_at is not None
    assert "Na" in {r["given_name"] for r in _links(bureau)}
    monkeypatch.undo()
    summary = purge(bureau, AS_OF)
    assert summary.records == 0 and summary.identities["variants_erased"] == 2
    assert "Na" not in {r["given_name"] for r in _links(bureau)}
    assert list(bureau.lake.links_path.parent.glob(".links.staged-*")) == []  # none left over
    assert verify(bureau.ledger).ok


def test_a_subject_furnished_again_gets_its_name_back(bureau, tmp_path):
    li = _subject_of(bureau, "Na")
    purge(bureau, AS_OF)
    _ingest(bureau, tmp_path, "back.csv", [_month("li-3", "2025-04", LI)])
    resolve(bureau)
    # the same identity gives the same cluster key, so the same subject id comes back
    assert _subject_of(bureau, "Na") == li
    (row,) = _rows(bureau, subjects, subjects.c.subject_id == li)
    assert row.display_name == "Na Li" and row.erased_at is None
    assert row.national_id_masked and row.national_id_masked.endswith("0016")
    assert len(_rows(bureau, subject_keys, subject_keys.c.subject_id == li)) == 2


def test_an_erasure_waits_for_a_resolve(bureau):
    purge_done = threading.Event()

    def run():
        purge(bureau, AS_OF)
        purge_done.set()

    with bureau.lake.identity_lock():
        worker = threading.Thread(target=run)
        worker.start()
        # the records go, but the identities wait for the lock
        assert not purge_done.wait(1.0)
        assert "Na" in {r["given_name"] for r in _links(bureau)}
    worker.join(60)
    assert purge_done.is_set() and "Na" not in {r["given_name"] for r in _links(bureau)}


def test_the_page_and_the_api_say_the_file_was_erased(bureau):
    li = _subject_of(bureau, "Na")
    purge(bureau, AS_OF)
    key = issue_key(bureau.ledger, "ops-erasure", "operator", "operator")
    app = create_app(bureau.settings, today=lambda: AS_OF)
    with TestClient(app, headers=bearer(key)) as client:
        page = client.get(f"/subjects/{li}?as_of={AS_OF}")
        body = client.get(f"/v1/subjects/{li}/report?as_of={AS_OF}")
    assert page.status_code == 200 and "was deleted; their name, ID, keys" in page.text
    assert "Na Li" not in page.text
    assert body.status_code == 200 and body.json()["erased_at"].endswith("Z")
    assert body.json()["display_name"] == erasure.ERASED_NAME


def _identity_lock_held(bureau) -> bool:
    with open(bureau.lake.root / ".identity.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


@pytest.mark.parametrize("stage", ["resolve", "purge"])
def test_list_entries_are_checked_after_a_resolve_and_a_purge_under_the_identity_lock(
    bureau, monkeypatch, stage
):
    """Records may move between files at a resolve and leave at a purge: every open list
    entry is then checked against its file (lists/service.py: reconcile), while the links
    and the ledger agree (the identity lock held)."""
    seen = []

    def spy(checked, **_how):
        seen.append((checked, _identity_lock_held(checked)))
        return []

    monkeypatch.setattr("openbureau.lists.service.reconcile_quietly", spy)
    assert not _identity_lock_held(bureau)
    if stage == "resolve":
        resolve(bureau)
    else:
        purge(bureau, AS_OF)
    assert seen == [(bureau, True)]


def test_a_resolve_notes_the_files_its_list_check_reads(bureau, tmp_path, monkeypatch):
    """An incremental resolve notes the files it may change (here: Chen's, whose new month
    it links by his known identity), a full one every file (None): the check after it
    reads only those (lists/service.py `reconcile`)."""
    noted = []
    monkeypatch.setattr(
        "openbureau.lists.service.note_pending", lambda _lake, files: noted.append(files)
    )
    _ingest(bureau, tmp_path, "more.csv", [_month("chen-2", "2025-04", CHEN)])
    # incremental, though this bureau holds persons only (no organisation model)
    assert resolve(bureau).mode == "incremental"
    assert noted == [{_subject_of(bureau, "Jie")}]
    resolve(bureau, full=True)
    assert noted[-1] is None


def test_a_purges_list_check_reads_only_the_files_losing_a_record_an_entry_rests_on(
    bureau, monkeypatch
):
    from openbureau.lists import service as lists  # noqa: PLC0415

    li, chen = _subject_of(bureau, "Na"), _subject_of(bureau, "Jie")
    with bureau.ledger.begin() as conn:
        li_entry = _list_entry(conn, li, "li-2")  # expired: goes with this purge
        _list_entry(conn, chen, "chen-1")  # kept: the purge leaves Chen's file as it was
    read = []
    real = lists._file_records
    monkeypatch.setattr(lists, "_file_records", lambda b, s, t: read.append(s) or real(b, s, t))
    summary = purge(bureau, AS_OF)
    assert read == [li] and summary.list_entries_removed == 1
    (gone,) = _rows(bureau, list_entries, list_entries.c.entry_id == li_entry)
    assert (gone.status, gone.removal_reason) == ("removed", "evidence_changed")
    assert not (bureau.lake.root / lists.PENDING_FILE).exists()


def test_a_resolve_between_a_purges_note_and_its_check_does_not_use_up_the_note(
    bureau, monkeypatch
):
    """A resolve's check (which reads whatever is noted) may run while the purge rewrites
    files, before the records have gone, and clear the note having found nothing to take
    off: the purge notes its files again for its own check."""
    from openbureau.lists import service as lists  # noqa: PLC0415
    from openbureau.retention import service as retention  # noqa: PLC0415

    li = _subject_of(bureau, "Na")
    with bureau.ledger.begin() as conn:
        li_entry = _list_entry(conn, li, "li-2")
    real = retention._rewrite

    def resolve_meanwhile(*args, **kwargs):
        with bureau.lake.identity_lock():
            assert json.loads((bureau.lake.root / lists.PENDING_FILE).read_text()) == {
                "all": False, "subjects": [li],
            }  # fmt: skip
            lists._write_pending(bureau.lake, set())  # as a check that decided them would
        return real(*args, **kwargs)

    monkeypatch.setattr(retention, "_rewrite", resolve_meanwhile)
    summary = purge(bureau, AS_OF)
    assert summary.list_entries_removed == 1
    (gone,) = _rows(bureau, list_entries, list_entries.c.entry_id == li_entry)
    assert (gone.status, gone.removal_reason) == ("removed", "evidence_changed")


def test_list_bookkeeping_that_fails_never_stops_a_purge_or_a_resolve(
    bureau, tmp_path, monkeypatch, caplog
):
    """If the files to note cannot be found, every file is noted instead, and the purge or
    the resolve does its work."""
    from openbureau.lists import service as lists  # noqa: PLC0415

    li = _subject_of(bureau, "Na")
    with bureau.ledger.begin() as conn:
        li_entry = _list_entry(conn, li, "li-2")

    def broken(*_args, **_kwargs):
        raise RuntimeError("a merge chain is longer than 16")

    monkeypatch.setattr(lists, "files_citing", broken)
    summary = purge(bureau, AS_OF)
    assert summary.records == 7 and summary.list_entries_removed == 1  # every file checked
    (gone,) = _rows(bureau, list_entries, list_entries.c.entry_id == li_entry)
    assert gone.status == "removed"
    _ingest(bureau, tmp_path, "more.csv", [_month("chen-2", "2025-04", CHEN)])
    assert resolve(bureau).mode == "incremental"
    assert "every list entry will be checked" in caplog.text
    assert not (bureau.lake.root / lists.PENDING_FILE).exists()
