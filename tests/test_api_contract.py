"""The API's contract is what the server does: schemathesis drives the live /api/v1 server from
its own OpenAPI description as a detail-1 mayor, a detail-2 mayor and an analist (detail 3),
with valid and deliberately invalid parameters (examples, boundary cases of every parameter and
random ones), and checks every answer: no server error, a documented status code, a documented
content type, a body that fits its schema, the documented response headers, every invalid
request refused, and every valid one accepted (authorisation aside).

Runs on a copy of the demo database with a state database of its own (appstate.sqlite beside
it) and a rate limit far above what the run needs."""
from __future__ import annotations

import json

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               negative_data_rejection,
                                               positive_data_acceptance,
                                               response_headers_conformance,
                                               response_schema_conformance,
                                               status_code_conformance, unsupported_method)

from dashboard.api import BUNDLES, COLUMN_KEYS, INDICATORS, OPENAPI, SORTS
from data.accounts import get_user, set_profile
from data.state import StateDB
from data.tokens import create_token

from .conftest import LiveServer, demo_copy

#: Who calls: a mayor at detail level 1 (counts only), a mayor whose gemeente is set to detail
#: level 2 (incident rows without addresses) and the analist (detail 3, the whole eenheid).
USERS = ("burgemeester", "burgemeester2", "analist")
#: Generated requests per operation in the fuzzing phase, each sent once per user. The
#: examples and coverage phases (every parameter's boundary and invalid values) come on top.
#: Derandomized: the same requests every run, so CI is reproducible; raise EXAMPLES (or drop
#: ``derandomize``) locally to explore further.
EXAMPLES = 30
#: What refuses an invalid request: the API (400, or 401/403/404 before it looks at the
#: parameters) or the web server for a request line over its limit (414, documented).
REJECTED = ["400", "401", "403", "404", "414", "429"]
#: The two rules of /incidents that OpenAPI cannot express, both in the parameters'
#: descriptions: 'to' not before 'from', and area codes that exist. A request that only breaks
#: one of them is valid for the description and still refused with 400.
UNDESCRIBABLE = ("to: de einddatum ligt voor de begindatum", "area: onbekend gebied")


def valid_requests_are_accepted(ctx, response, case):
    """positive_data_acceptance, except the 400s of :data:`UNDESCRIBABLE` (and of those only
    them: any other 400 for a request the description allows fails)."""
    if response.status_code == 400 and case.operation.path == "/api/v1/incidents":
        if response.json()["error"].startswith(UNDESCRIBABLE):
            return None
    return positive_data_acceptance(ctx, response, case)


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance, negative_data_rejection,
          valid_requests_are_accepted, unsupported_method]


@pytest.fixture(scope="module")
def contract_server(demo_db, tmp_path_factory):
    db = demo_copy(demo_db, tmp_path_factory.mktemp("contract"))
    server = LiveServer(db, env={"DASHBOARD_API_RATE_LIMIT": "100000 per minute"})
    try:
        # What schemathesis is driven by is what the server serves.
        served = requests.get(server.url + "/api/v1/openapi.json", timeout=30).json()
        assert served == json.loads(json.dumps(OPENAPI))
        state = StateDB(db.parent / "appstate.sqlite")  # the demo accounts exist once it serves
        (gemeente,) = get_user(state, "burgemeester2").gemeenten
        set_profile(state, gemeente, by="test", detail=2)
        server.tokens = {name: create_token(state, name, label="contract", by=name)[1]
                         for name in USERS}
        yield server
    finally:
        server.stop()


def call(server, user: str, path: str, **params) -> requests.Response:
    return requests.get(f"{server.url}/api/v1/{path}", params=params, timeout=60,
                        headers={"Authorization": f"Bearer {server.tokens[user]}"})


#: The description the server serves (checked in the fixture), loaded when the module is
#: collected: schemathesis makes one test per operation.
schema = schemathesis.openapi.from_dict(
    json.loads(json.dumps(OPENAPI)), config=SchemathesisConfig.from_dict({
        # The token is ours to send (one per user, below), not a parameter to generate.
        "generation": {"max-examples": EXAMPLES, "with-security-parameters": False},
        "phases": {"stateful": {"enabled": False}},
        "checks": {"negative_data_rejection": {"expected-statuses": REJECTED}},
    }))


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_answers_as_described(case, contract_server):
    for user in USERS:
        case.call_and_validate(
            base_url=contract_server.url,
            headers={"Authorization": f"Bearer {contract_server.tokens[user]}"},
            checks=CHECKS, timeout=60)


def test_every_listed_value_is_accepted(contract_server):
    """Each value an enumeration of the description lists is one the server takes (random
    generation may miss one of 75 types)."""
    for bundle in BUNDLES:
        response = call(contract_server, "burgemeester", "counts", type=bundle)
        assert response.status_code == 200, (bundle, response.text)
    for code in INDICATORS:
        response = call(contract_server, "analist", "incidents", type=code, limit=1)
        assert response.status_code == 200, (code, response.text)
    for key in SORTS:
        response = call(contract_server, "analist", "incidents", sort=key, limit=1)
        assert response.status_code == 200, (key, response.text)
    response = call(contract_server, "analist", "incidents", columns=",".join(COLUMN_KEYS),
                    limit=1)
    assert response.status_code == 200 and response.json()["columns"] == list(COLUMN_KEYS)
