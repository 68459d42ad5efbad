"""Schemathesis over the whole /api/v1 document with a token of each role: no server error, every answer as documented."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings, strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.tokens import issue_token

MAX_EXAMPLES = 60
TOKEN_PATHS = ("/api/v1/sessions/{session_id}/proposals", "/api/v1/proposals/{proposal_id}",
               "/api/v1/sessions/{session_id}/ranking")


@pytest.fixture
def token_world(make_world):
    """An open session with a facilitator and an owner, the owner's proposal and another business's."""
    return make_world(facilitator=True, owner=True, proposals=[{"business": "owner"}, {}])


@pytest.mark.parametrize("role", ["proponent", "planner", "facilitator", "admin"])
def test_every_operation_answers_as_documented_with_a_token(app, token_world, make_user, role):
    user_id = {"proponent": token_world.owner, "planner": token_world.planner,
               "facilitator": token_world.facilitator, "admin": None}[role] or make_user("admin")
    token = issue_token(app, user_id)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    strategies = [schema.as_strategy(mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
    # Random ids seldom name anything: these aim at the world's session and proposals.
    for method in ("GET", "POST"):
        strategies.append(schema[TOKEN_PATHS[0]][method].as_strategy(
            path_parameters={"session_id": token_world.session}))
    strategies.append(schema[TOKEN_PATHS[2]]["GET"].as_strategy(path_parameters={"session_id": token_world.session}))
    for proposal_id in token_world.proposals:
        strategies.append(schema[TOKEN_PATHS[1]]["GET"].as_strategy(path_parameters={"proposal_id": proposal_id}))
    strategies.append(schema["/api/v1/me/proposals"]["GET"].as_strategy())

    @given(case=st.one_of(strategies))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def call(case):
        # Explicit credentials: schemathesis also probes each token path without them and with made-up ones.
        # A body of the right types may still break the web form's rules on content (a title of 5 to
        # 200 characters without control characters, a category of the session): that is the
        # documented 422 naming the field, not a schema-valid request wrongly refused.
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"},
                               excluded_checks=[positive_data_acceptance])

    call()
