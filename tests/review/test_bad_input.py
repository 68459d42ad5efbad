"""Review pages refuse what a finalised session no longer allows with a message, never a server error (issue 17)."""
from __future__ import annotations

import pytest

from participation.models import AuditEvent, SessionStatus, ThemedSession
from tests.conftest import app_db, post_form
from tests.review.test_review_flow import ahp_form


@pytest.fixture
def world(make_world, login_as):
    """A finalised session of three rated proposals; its planner signed in."""
    world = make_world(facilitator=True, status=SessionStatus.FINALIZED, proposals=3, rated=4)
    login_as(world.planner)
    return world


def weights_and_events(app, world):
    with app_db(app) as session:
        themed_session = session.get(ThemedSession, world.session)
        weights = [(c.weight, c.direction) for c in themed_session.criteria]
        events = session.query(AuditEvent).filter(AuditEvent.action == "session.weights_set").count()
        return weights, themed_session.weights_origin, events


def test_saving_ahp_weights_on_a_finalised_session_is_refused_like_typed_weights(app, client, world):
    before = weights_and_events(app, world)
    page = client.get(f"/sesi/{world.session}/ahp")
    assert page.status_code == 200
    data = ahp_form(page.get_data(as_text=True))
    first = next(name for name in data if name.startswith("p"))
    response = client.post(f"/sesi/{world.session}/ahp", data=data | {first: "3", "action": "save"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/sesi/{world.session}/ahp")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "dikunci setelah musrenbang difinalkan" in page
    assert weights_and_events(app, world) == before
    # Typed weights on the ranked list are refused with the same message.
    with app_db(app) as session:
        criteria = [c.id for c in session.get(ThemedSession, world.session).criteria]
    response = post_form(client, f"/sesi/{world.session}/peringkat/bobot", {f"w{cid}": "1" for cid in criteria},
                         token_from=f"/sesi/{world.session}/peringkat")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "dikunci setelah musrenbang difinalkan" in page
    assert weights_and_events(app, world) == before
