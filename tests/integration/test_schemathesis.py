"""Schemathesis against the app's own OpenAPI, in-process (ASGI): whatever it sends, no
server error, and every answer (status, content type, headers, body) is what the document
says, with the ledger on SQLite and on PostgreSQL. Bounded by `MAX_EXAMPLES` per operation
and mode, so the run stays short.

Operations come from the live document, so routes added later are fuzzed too. (Driven with
Hypothesis directly: schemathesis' lazy pytest loader does not run under pytest 9.)"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from openbureau.api.app import create_app
from report_fixture import AS_OF, DEFAULTER, GOOD, MERGED, THIN, UNSCORED, build_report_fixture

MAX_EXAMPLES = 40
#: Subjects of the fixture, so the fuzzer also reaches answers about real files (200, 307).
KNOWN_SUBJECTS = (GOOD, THIN, DEFAULTER, MERGED, UNSCORED)


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory, ledger_url):
    # Rate limiting off: a fuzzer is one very fast caller, and 429 would hide every route.
    home = tmp_path_factory.mktemp("bureau")
    fixture = build_report_fixture(home, ledger_url, rate_limit_per_second=0)
    app = create_app(fixture.settings, today=lambda: AS_OF)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def _cases(operation) -> st.SearchStrategy:
    strategies = [operation.as_strategy(mode) for mode in GenerationMode]
    if "{subject_id}" in operation.path:
        strategies += [
            operation.as_strategy(path_parameters={"subject_id": subject})
            for subject in KNOWN_SUBJECTS
        ]
    return st.one_of(strategies)


def test_the_api_answers_as_its_openapi_says(api_schema):
    failures = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 3

    for operation in operations:

        @given(case=_cases(operation))
        @settings(
            max_examples=MAX_EXAMPLES * 3,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            case.call_and_validate()

        try:
            check()
        except Exception as exc:  # noqa: BLE001 - gather every operation's failure, then report
            failures[operation.label] = f"{type(exc).__name__}: {exc}"
    assert not failures, "\n\n".join(f"{label}:\n{why}" for label, why in failures.items())
