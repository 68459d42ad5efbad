"""Schemathesis over the whole /api/v1 document, anonymously: no server error, every answer as documented."""
from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings, strategies as st
from schemathesis import GenerationMode

# Examples over the three operations in both modes; sized so that one database's run stays well under a minute.
MAX_EXAMPLES = 120


def test_every_operation_answers_as_documented(app, public_world):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    strategies = [schema.as_strategy(mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
    # Random ids seldom name a session: these aim at each kind the world has (results, 404s, a draft).
    for path in ("/api/v1/sessions/{session_id}", "/api/v1/sessions/{session_id}/results"):
        for session_id in (public_world.finalized, public_world.open, public_world.draft):
            strategies.append(schema[path]["GET"].as_strategy(path_parameters={"session_id": session_id}))

    @given(case=st.one_of(strategies))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def call(case):
        case.call_and_validate()

    call()
