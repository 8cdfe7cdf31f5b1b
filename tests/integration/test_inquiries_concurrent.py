"""Inquiries made at the same time by many threads (as a server's worker threads make them):
each is recorded with its notice and its audit entry, none twice, the chain intact, on SQLite
and on PostgreSQL."""

import threading
from datetime import UTC, datetime

from sqlalchemy import func, select

from keys import issue_key
from openbureau.access.service import authenticate
from openbureau.audit.service import verify
from openbureau.bootstrap import build_bureau
from openbureau.inquiries.service import make_inquiry
from openbureau.storage.ledger import audit_log, inquiries, outbox
from report_fixture import AS_OF, GOOD, THIN, build_report_fixture

THREADS, EACH = 8, 15


def test_concurrent_inquiries_are_each_recorded_notified_and_audited(tmp_path, ledger_url):
    bureau = build_bureau(build_report_fixture(tmp_path / "home", ledger_url).settings)
    lender = authenticate(bureau.ledger, issue_key(bureau.ledger, "lender-c", "lender", "inquirer"))
    start = threading.Barrier(THREADS)
    answers, failures = [], []

    def inquire(n: int) -> None:
        start.wait()
        for i in range(EACH):
            try:
                answer = make_inquiry(
                    bureau, lender, "credit_application", subject_id=(GOOD, THIN)[(n + i) % 2],
                    as_of=AS_OF, now=datetime.now(UTC),
                )  # fmt: skip
                answers.append(answer)
            except Exception as exc:  # noqa: BLE001 - the test reports every failure
                failures.append(repr(exc))

    threads = [threading.Thread(target=inquire, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert failures == []
    ids = {a.inquiry_id for a in answers}
    assert len(ids) == THREADS * EACH
    with bureau.ledger.connect() as conn:
        stored = set(conn.execute(select(inquiries.c.inquiry_id)).scalars())
        notices = [
            b["inquiry_id"] for b in conn.execute(select(outbox.c.body)).scalars()
        ]  # fmt: skip
        audited = conn.execute(
            select(func.count()).select_from(audit_log).where(audit_log.c.action == "inquiry.made")
        ).scalar_one()
    assert ids <= stored
    assert sorted(n for n in notices if n in ids) == sorted(ids)  # one notice each
    assert audited == len(ids)
    result = verify(bureau.ledger)
    assert result.ok, result
