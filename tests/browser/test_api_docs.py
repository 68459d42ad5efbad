"""The API reference page: Swagger UI, vendored, drawn from openapi.json under the CSP, offline, with
no axe violation (static/css/api-docs.css darkens the colours Swagger UI draws below 4.5:1)."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from participation.models import SessionStatus
from tests.browser.conftest import axe_violations, screenshot

pytestmark = pytest.mark.browser

# One entry per operation: the session's proposals are read (GET) and written (POST).
OPERATIONS = ("/api/v1/sessions", "/api/v1/sessions/{session_id}", "/api/v1/sessions/{session_id}/results",
              "/api/v1/sessions/{session_id}/follow-up", "/api/v1/sessions/{session_id}/proposals",
              "/api/v1/sessions/{session_id}/proposals", "/api/v1/sessions/{session_id}/ranking",
              "/api/v1/me/proposals", "/api/v1/proposals/{proposal_id}")


@pytest.mark.parametrize("width", [1366, 390])
def test_the_reference_lists_every_operation_with_no_csp_error(app, page, make_world, width):
    make_world(status=SessionStatus.OPEN)
    base = app.config["LIVE_URL"]
    elsewhere = []
    page.on("request", lambda request: elsewhere.append(request.url)
            if urlsplit(request.url).netloc != urlsplit(base).netloc and not request.url.startswith("data:") else None)
    page.set_viewport_size({"width": width, "height": 900})
    response = page.goto(f"{base}/api/v1/docs")
    assert response.status == 200 and "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Musrenbang Tematik API")
    paths = page.locator(".opblock-summary-path")
    expect(paths).to_have_count(len(OPERATIONS))
    assert sorted(paths.all_inner_texts()) == sorted(OPERATIONS)
    page.locator(".opblock-summary-path", has_text="/api/v1/sessions/{session_id}/results").click()
    expect(page.locator(".opblock.is-open .responses-table")).to_contain_text("304")
    expect(page.locator(".opblock.is-open .parameters")).to_contain_text("If-None-Match")
    shot = screenshot(page, f"api-docs-{width}")
    assert shot.stat().st_size > 10_000
    assert axe_violations(page) == []
    assert page.console_errors == []  # a blocked script or style would be logged here by Chromium
    assert elsewhere == []
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the {width}px screen"
