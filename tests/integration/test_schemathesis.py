"""Schemathesis against the app's own OpenAPI, in-process (ASGI): whatever it sends, no
server error, and every answer (status, content type, headers, body) is what the document
says, with the ledger on SQLite and on PostgreSQL. Bounded by `MAX_EXAMPLES` per operation
and mode, so the run stays short.

Operations come from the live document, so routes added later are fuzzed too. Every request
carries a real key of a role the route admits (an operator's unless `ROLE_OF` names another),
so the fuzzer reaches the routes' own logic; a 401 or 403 is still a documented answer.
(Driven with Hypothesis directly: schemathesis' lazy pytest loader does not run under
pytest 9.)"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from keys import bearer, issue_key
from openbureau.api.app import create_app
from openbureau.bootstrap import build_bureau
from report_fixture import AS_OF, DEFAULTER, GOOD, MERGED, THIN, UNSCORED, build_report_fixture

MAX_EXAMPLES = 40
#: Requests that are well formed yet break a rule the schema cannot state get a documented
#: 422, which is not a fault: a file refused whole by the catalogue's rules (with its
#: receipt), an inquiry naming its subject both or neither ways, a consent an operator
#: records without a signed form, a dispute of a record the file does not show, or an
#: answer to a dispute answered already (409). A merged subject's id answers 307.
_RULED = ["2xx", "307", "401", "403", "404", "409", "422"]
CONFIG = SchemathesisConfig.from_str(
    f"""
[[operations]]
include-path = "/v1/batches"
checks.positive_data_acceptance.expected-statuses = {_RULED}

[[operations]]
include-path = "/v1/inquiries"
checks.positive_data_acceptance.expected-statuses = {_RULED}

[[operations]]
include-path = "/v1/subjects/{{subject_id}}/consents"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = {_RULED}

[[operations]]
include-path = "/v1/subjects/{{subject_id}}/disputes"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = {_RULED}

[[operations]]
include-path = "/v1/disputes/{{dispute_id}}/answer"
checks.positive_data_acceptance.expected-statuses = {_RULED}
"""
)
#: Subjects of the fixture, so the fuzzer also reaches answers about real files (200, 307).
KNOWN_SUBJECTS = (GOOD, THIN, DEFAULTER, MERGED, UNSCORED)
#: Who calls each path (see tests/integration/test_access_matrix.py); others: the operator.
ROLE_OF = {"/v1/batches": "furnisher", "/v1/inquiries": "inquirer"}
CALLERS = {
    "operator": ("ops-fuzz", "operator", "operator", {}),
    "furnisher": ("bank-north", "lender", "furnisher", {"furnisher_id": "bank-north"}),
    "inquirer": ("lender-fuzz", "lender", "inquirer", {}),
}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory, ledger_url):
    # Rate limiting off: a fuzzer is one very fast caller, and 429 would hide every route.
    home = tmp_path_factory.mktemp("bureau")
    fixture = build_report_fixture(home, ledger_url, rate_limit_per_second=0)
    ledger = build_bureau(fixture.settings).ledger
    keys = {
        role: issue_key(ledger, party, kind, key_role, **links)
        for role, (party, kind, key_role, links) in CALLERS.items()
    }
    app = create_app(fixture.settings, today=lambda: AS_OF)
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=CONFIG), keys


def _cases(operation) -> st.SearchStrategy:
    strategies = [operation.as_strategy(mode) for mode in GenerationMode]
    if "{subject_id}" in operation.path:
        strategies += [
            operation.as_strategy(path_parameters={"subject_id": subject})
            for subject in KNOWN_SUBJECTS
        ]
    return st.one_of(strategies)


def _fuzz(operation, headers: dict[str, str]) -> None:
    @given(case=_cases(operation))
    @settings(
        max_examples=MAX_EXAMPLES * 3,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        case.call_and_validate(headers=headers)

    check()


def test_the_api_answers_as_its_openapi_says(api_schema):
    schema, keys = api_schema
    failures = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 3

    for operation in operations:
        try:
            _fuzz(operation, bearer(keys[ROLE_OF.get(operation.path, "operator")]))
        # schemathesis' FailureGroup is a BaseExceptionGroup
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - gather, then report
            failures[operation.label] = f"{type(exc).__name__}: {exc}"
    assert not failures, "\n\n".join(f"{label}:\n{why}" for label, why in failures.items())
