"""Access control, declared: every (endpoint, method) × role → expected status.

A route that is missing from ACCESS fails `test_every_route_is_declared`. HEAD and OPTIONS are
answered by Flask for every GET route and are not listed separately.

Each case runs against a small world: an open session whose planner and facilitator are the
signed-in planner and facilitator, a business owned by the signed-in proponent with a submitted
proposal (with an attachment) and a draft, and a few spare objects for actions to act on.
"""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.conftest import STAFF_PASSWORD, TEST_PASSWORD, app_db, login

ROLES = ("anonymous", "proponent", "planner", "facilitator", "admin")
STAFF = ("planner", "facilitator", "admin")
MANAGERS = ("planner", "admin")
LOGIN_REDIRECT = 302


def everyone(status):
    return dict.fromkeys(ROLES, status)


def signed_in(status, anonymous=LOGIN_REDIRECT):
    return {"anonymous": anonymous, **dict.fromkeys(ROLES[1:], status)}


def only(roles, status, anonymous=LOGIN_REDIRECT, others=403):
    table = {role: others for role in ROLES}
    table.update(anonymous=anonymous, **dict.fromkeys(roles, status))
    return table


def anonymous_only(status, signed_in_status=302):
    return {"anonymous": status, **dict.fromkeys(ROLES[1:], signed_in_status)}


# (endpoint, method) -> {role: status}. POSTs send the request in REQUESTS (empty by default): a
# 400 is the view's own validation answer to a role that may use it, distinct from 403.
ACCESS = {
    ("static", "GET"): everyone(200),
    ("public.index", "GET"): everyone(200),
    ("public.set_language", "POST"): everyone(303),
    ("auth.login", "GET"): anonymous_only(200),
    ("auth.login", "POST"): anonymous_only(400),
    ("auth.logout", "POST"): everyone(303),
    ("auth.register", "GET"): anonymous_only(200),
    ("auth.register", "POST"): anonymous_only(400),
    ("auth.account", "GET"): signed_in(200),
    ("auth.change_password", "POST"): signed_in(400),
    ("auth.edit_business", "GET"): only(["proponent"], 200),
    ("auth.edit_business", "POST"): only(["proponent"], 400),
    ("auth.identity_changes", "GET"): only(STAFF, 200),
    # Staff two-factor: the second step needs a pending sign-in (none here: back to /masuk, or home).
    ("two_factor.verify", "GET"): everyone(302),
    ("two_factor.verify", "POST"): everyone(302),
    ("two_factor.enroll", "GET"): everyone(302),
    ("two_factor.enroll", "POST"): everyone(302),
    ("two_factor.regenerate", "POST"): only(STAFF, 400),
    # Personal access tokens on the account page: an empty form is refused; only the owner of a
    # token may revoke it (the world's token is the proponent's).
    ("api_tokens.create", "POST"): signed_in(400),
    ("api_tokens.revoke", "POST"): {**signed_in(404), "proponent": 303},
    ("two_factor.reset", "POST"): only(["admin"], 303),
    ("auth.decide_identity_change", "POST"): only(STAFF, 303),
    ("auth.merge_separate_registration", "GET"): only(STAFF, 200),
    ("auth.merge_separate_registration", "POST"): only(STAFF, 303),
    ("auth.keep_separate", "POST"): only(STAFF, 303),
    # Personal data (DESIGN §8): the notice for all, the download for every account, deletion for
    # owners (staff read why an admin deactivates them instead; an empty form is refused).
    ("privacy.notice", "GET"): everyone(200),
    ("privacy.download", "GET"): signed_in(200),
    ("privacy.delete_account", "GET"): signed_in(200),
    ("privacy.delete_account", "POST"): only(["proponent"], 400, others=403),
    # Account recovery: asking for a link (signed-in users go to their account instead), the links
    # themselves (a forged token here: 410 for everyone), sending the confirmation again.
    ("recovery.forgot", "GET"): anonymous_only(200),
    ("recovery.forgot", "POST"): anonymous_only(400),
    ("recovery.sent", "GET"): everyone(200),
    ("recovery.reset", "GET"): everyone(410),
    ("recovery.reset", "POST"): everyone(410),
    ("recovery.verify", "GET"): everyone(410),
    ("recovery.verify", "POST"): everyone(410),
    ("recovery.resend_verification", "POST"): only(["proponent"], 303),
    ("admin.reset_link", "POST"): only(["admin"], 200),
    ("admin.users", "GET"): only(["admin"], 200),
    ("admin.new_user", "GET"): only(["admin"], 200),
    ("admin.new_user", "POST"): only(["admin"], 400),
    ("admin.set_active", "POST"): only(["admin"], 303),
    ("admin.audit", "GET"): only(["admin"], 200),
    # Outgoing mail in trouble (failed, or waiting for a retry), and sending one again.
    ("admin.notifications", "GET"): only(["admin"], 200),
    ("admin.resend_notification", "POST"): only(["admin"], 303),
    # The bell's page: everyone signed in has one; a message is its own user's (the proponent's).
    ("notifications.index", "GET"): signed_in(200),
    ("notifications.open", "POST"): {**signed_in(404), "proponent": 303},
    ("notifications.read", "POST"): {**signed_in(404), "proponent": 303},
    ("notifications.read_all", "POST"): signed_in(303),
    # Preferences per kind of message (account page); an empty form is refused.
    ("notifications.save_preferences", "POST"): signed_in(400),
    # The digest's one-click unsubscribe: no sign-in, the signed token (the proponent's) is the
    # proof, whoever opens it; a GET asks, a POST (without CSRF, RFC 8058) does it.
    ("notifications.unsubscribe", "GET"): everyone(200),
    ("notifications.unsubscribe", "POST"): everyone(200),
    # Themed sessions: members see them, planners (and admins) manage them.
    ("sessions.index", "GET"): only(STAFF, 200),
    ("sessions.new", "GET"): only(MANAGERS, 200),
    ("sessions.new", "POST"): only(MANAGERS, 400),
    ("sessions.detail", "GET"): only(STAFF, 200),
    ("sessions.edit", "GET"): only(MANAGERS, 200),
    ("sessions.edit", "POST"): only(MANAGERS, 400),
    ("sessions.add_category", "POST"): only(MANAGERS, 303),
    ("sessions.delete_category", "POST"): only(MANAGERS, 303),
    ("sessions.move_category", "POST"): only(MANAGERS, 303),
    ("sessions.category_sipd", "GET"): only(MANAGERS, 200),
    ("sessions.category_sipd", "POST"): only(MANAGERS, 400),  # the kind of spending is required
    ("sessions.add_criterion", "GET"): only(MANAGERS, 303),  # the open session takes no new criteria
    ("sessions.add_criterion", "POST"): only(MANAGERS, 303),
    ("sessions.edit_criterion", "GET"): only(MANAGERS, 200),
    ("sessions.edit_criterion", "POST"): only(MANAGERS, 400),
    ("sessions.delete_criterion", "POST"): only(MANAGERS, 303),
    ("sessions.move_criterion", "POST"): only(MANAGERS, 303),
    ("sessions.weights", "GET"): only(MANAGERS, 200),
    ("sessions.weights", "POST"): only(MANAGERS, 400),
    ("sessions.transition", "POST"): only(MANAGERS, 303),
    ("sessions.add_member", "POST"): only(MANAGERS, 303),
    ("sessions.remove_member", "POST"): only(MANAGERS, 303),
    # The session's proposals, roster, paper intake and imports.
    ("intake.proposals", "GET"): only(STAFF, 200),
    ("intake.roster", "GET"): only(STAFF, 200),
    ("intake.invite", "POST"): only(STAFF, 303),
    ("intake.uninvite", "POST"): only(STAFF, 303),
    ("intake.import_roster", "POST"): only(STAFF, 400),
    ("intake.paper", "GET"): only(STAFF, 200),
    ("intake.paper", "POST"): only(STAFF, 400),
    ("intake.blank_forms", "GET"): only(STAFF, 200),
    ("intake.blank_forms", "POST"): only(STAFF, 400),
    ("intake.import_businesses", "GET"): only(MANAGERS, 200),
    ("intake.import_businesses", "POST"): only(MANAGERS, 400),
    ("intake.import_proposals", "GET"): only(MANAGERS, 200),
    ("intake.import_proposals", "POST"): only(MANAGERS, 400),
    ("intake.import_template", "GET"): only(STAFF, 200),
    # Proposals: owners write them; the session's staff read them.
    ("proposals.mine", "GET"): only(["proponent"], 200),
    ("proposals.new", "GET"): only(["proponent"], 200),
    ("proposals.new", "POST"): only(["proponent"], 400),
    ("proposals.detail", "GET"): signed_in(200),
    ("proposals.edit", "GET"): only(["proponent"], 200),
    ("proposals.edit", "POST"): only(["proponent"], 400),
    ("proposals.submit", "POST"): only(["proponent"], 303),
    ("proposals.withdraw", "POST"): only(["proponent"], 303),
    ("proposals.delete_draft", "POST"): only(["proponent"], 303),
    # Irreversible steps ask first: a confirmation page (GET) before the POST.
    ("proposals.withdraw", "GET"): only(["proponent"], 200),
    ("proposals.delete_draft", "GET"): only(["proponent"], 200),
    # The world's proposal is submitted, not withdrawn: refused with a message, back to its page.
    ("proposals.resubmit", "POST"): only(["proponent"], 303),
    # The receipt: its owner and the session's staff (an admin reads every proposal); others 404.
    ("proposals.receipt_page", "GET"): signed_in(200),
    ("proposals.receipt_pdf", "GET"): signed_in(200),
    ("proposals.attachment", "GET"): {**signed_in(200, anonymous=404), "admin": 404},
    # Review: the ranked list, ratings, votes, AHP, decisions, finalisation, exports.
    ("review.ranking", "GET"): only(STAFF, 200),
    ("review.compute_stability", "POST"): only(STAFF, 303),
    ("review.save_weights", "POST"): only(MANAGERS, 303),
    ("review.constraints", "GET"): only(MANAGERS, 200),
    ("review.set_must_fund", "POST"): only(MANAGERS, 400),  # an empty form: the receipt number and reason are asked
    ("review.clear_must_fund", "POST"): only(MANAGERS, 303),  # not marked: refused with a message, back to the page
    ("review.create_exclusive_group", "POST"): only(MANAGERS, 400),
    ("review.delete_exclusive_group", "POST"): only(MANAGERS, 303),
    ("review.set_category_cap", "POST"): only(MANAGERS, 303),  # an empty cap clears it
    ("review.export", "GET"): only(STAFF, 200),
    ("review.export_sipd", "GET"): only(MANAGERS, 200),
    ("review.rate_list", "GET"): only(["planner"], 200),
    ("review.rate", "GET"): only(["planner"], 200),
    ("review.rate", "POST"): only(["planner"], 400),
    ("review.votes", "GET"): only(STAFF, 200),
    ("review.votes", "POST"): only(STAFF, 303),
    ("review.ahp", "GET"): only(MANAGERS, 200),
    ("review.ahp", "POST"): only(MANAGERS, 200),  # an empty form compares every pair as equal
    ("review.decide", "GET"): only(MANAGERS, 200),
    ("review.decide", "POST"): only(MANAGERS, 400),
    ("review.sipd_codes", "POST"): only(MANAGERS, 303),  # empty fields: the category's defaults apply
    ("review.finalize", "GET"): only(MANAGERS, 200),
    ("review.finalize", "POST"): only(MANAGERS, 400),
    # Conflicts of interest: every staff member declares their own (an empty form is refused);
    # the facilitator's declaration is withdrawn by them or by a planner or admin.
    ("review.conflict_list", "GET"): only(STAFF, 200),
    ("review.declare_conflict", "GET"): only(STAFF, 200),
    ("review.declare_conflict", "POST"): only(STAFF, 400),
    ("review.withdraw_conflict", "POST"): only(STAFF, 303),
    # Joint proposals: similar proposals, merging a cluster (an empty form is refused), dismissing it,
    # undoing a merge (the world's proposal is no joint one: refused with a message, back to the list).
    ("review.similar", "GET"): only(MANAGERS, 200),
    ("review.merge", "GET"): only(MANAGERS, 200),
    ("review.merge", "POST"): only(MANAGERS, 400),
    ("review.dismiss_cluster", "POST"): only(MANAGERS, 303),
    ("review.undo_merge", "POST"): only(MANAGERS, 303),
    # Meeting documents: the session's staff; the letterhead belongs to facilitators and admins.
    ("documents.index", "GET"): only(STAFF, 200),
    ("documents.index", "POST"): only(STAFF, 400),
    ("documents.view", "GET"): only(STAFF, 200),
    ("documents.pdf", "GET"): only(STAFF, 200),
    ("documents.prepare_pdf", "POST"): only(STAFF, 303),
    # A background job is its own user's (the world's belongs to the facilitator); anyone else's is a 404.
    ("jobs.detail", "GET"): {**signed_in(404), "facilitator": 200},
    ("jobs.download", "GET"): {**signed_in(404), "facilitator": 200},
    ("jobs.status", "GET"): {**signed_in(404), "facilitator": 200},
    ("documents.agenda", "GET"): only(STAFF, 200),
    ("documents.agenda", "POST"): only(STAFF, 400),
    ("documents.rebuild_agenda", "POST"): only(STAFF, 303),
    ("documents.add_agenda_item", "POST"): only(STAFF, 400),
    ("documents.move_agenda_item", "POST"): only(STAFF, 303),
    ("documents.delete_agenda_item", "POST"): only(STAFF, 303),
    ("documents.checkin", "GET"): only(STAFF, 200),
    ("documents.checkin", "POST"): only(STAFF, 400),
    ("documents.mark", "POST"): only(STAFF, 303),
    ("documents.logo", "GET"): only(STAFF, 200),
    ("documents.letterhead", "GET"): only(["facilitator", "admin"], 200),
    ("documents.letterhead", "POST"): only(["facilitator", "admin"], 400),
    # Public results of finalised sessions.
    # Follow-up of a finalised session's funded proposals: its planners and admins record; the
    # facilitator is not on the finalised session's team (404); the photo is its viewers' alone.
    ("followup.index", "GET"): only(STAFF, 200, others=403) | {"facilitator": 404},
    ("followup.update", "GET"): only(MANAGERS, 200) | {"facilitator": 404},
    ("followup.update", "POST"): only(MANAGERS, 400) | {"facilitator": 404},
    ("followup.details", "POST"): only(MANAGERS, 303) | {"facilitator": 404},
    ("followup.prepare", "POST"): only(MANAGERS, 303) | {"facilitator": 404},
    ("followup.import_file", "GET"): only(MANAGERS, 200) | {"facilitator": 404},
    ("followup.import_file", "POST"): only(MANAGERS, 400) | {"facilitator": 404},
    ("followup.export", "GET"): only(MANAGERS, 200) | {"facilitator": 404},
    ("followup.photo", "GET"): {**everyone(404), "planner": 200, "admin": 200},
    ("public.results", "GET"): everyone(200),
    ("public.result", "GET"): everyone(200),
    # The load balancer's probe: no login, whoever asks.
    ("health.healthz", "GET"): everyone(200),
    # Where to report a vulnerability (RFC 9116): public.
    ("wellknown.security_txt", "GET"): everyone(200),
    # The API (DESIGN §9) ignores the web sign-in: every role is anonymous there without a token.
    ("api_reference.openapi", "GET"): everyone(200),
    ("api_reference.docs", "GET"): everyone(200),
    ("api.list_sessions", "GET"): everyone(200),
    ("api.get_session", "GET"): everyone(200),
    ("api.get_results", "GET"): everyone(200),
    ("api.get_follow_up", "GET"): everyone(200),
    # The token paths: a web sign-in is no token, so every role is refused (tests/api/test_token_api.py).
    ("api.session_proposals", "GET"): everyone(401),
    ("api.session_ranking", "GET"): everyone(401),
    ("api.my_proposals", "GET"): everyone(401),
    ("api.get_proposal", "GET"): everyone(401),
    ("api.create_proposal", "POST"): everyone(401),
}

# How to call routes that need URL values or form data; "@name" refers to an object of the world.
REQUESTS = {
    ("static", "GET"): {"values": {"filename": "css/app.css"}},
    ("public.set_language", "POST"): {"data": {"locale": "en"}},
    ("admin.set_active", "POST"): {"values": {"user_id": "@spare_user"}, "data": {"active": "0"}},
    ("two_factor.reset", "POST"): {"values": {"user_id": "@spare_user"}},
    ("api_tokens.revoke", "POST"): {"values": {"token_id": "@api_token"}},
    ("recovery.reset", "GET"): {"values": {"token": "12.1764600000.bm90LWEtcmVhbC1tYWM"}},
    ("recovery.reset", "POST"): {"values": {"token": "12.1764600000.bm90LWEtcmVhbC1tYWM"},
                                 "data": {"password": "Tenun-Ikat-Sumba-2027", "password_confirm": "Tenun-Ikat-Sumba-2027"}},
    ("recovery.verify", "GET"): {"values": {"token": "1.1764600000.bm90LWEtcmVhbC1tYWM"}},
    ("recovery.verify", "POST"): {"values": {"token": "1.1764600000.bm90LWEtcmVhbC1tYWM"}},
    ("admin.reset_link", "POST"): {"values": {"user_id": "@owner"}},
    ("auth.decide_identity_change", "POST"): {"values": {"change_id": "@identity_change"}, "data": {"keputusan": "tolak"}},
    ("auth.merge_separate_registration", "GET"): {"values": {"review_id": "@separate_registration"}},
    ("auth.merge_separate_registration", "POST"): {"values": {"review_id": "@separate_registration"}},
    ("auth.keep_separate", "POST"): {"values": {"review_id": "@separate_registration"},
                                     "data": {"note": "NIB berbeda kegiatan"}},
    ("sessions.delete_category", "POST"): {"values": {"category_id": "@spare_category"}},
    ("sessions.move_category", "POST"): {"values": {"category_id": "@spare_category"}, "data": {"arah": "naik"}},
    ("sessions.category_sipd", "GET"): {"values": {"category_id": "@spare_category"}},
    ("sessions.category_sipd", "POST"): {"values": {"category_id": "@spare_category"}},
    ("sessions.edit_criterion", "GET"): {"values": {"criterion_id": "@criterion"}},
    ("sessions.edit_criterion", "POST"): {"values": {"criterion_id": "@criterion"}},
    ("sessions.delete_criterion", "POST"): {"values": {"criterion_id": "@criterion"}},
    ("sessions.move_criterion", "POST"): {"values": {"criterion_id": "@criterion"}, "data": {"arah": "turun"}},
    ("sessions.transition", "POST"): {"data": {"action": "close"}},
    ("sessions.add_member", "POST"): {"data": {"user_id": "@spare_facilitator"}},
    ("sessions.remove_member", "POST"): {"values": {"user_id": "@spare_facilitator_member"}},
    ("intake.invite", "POST"): {"data": {"business_id": "@spare_business"}},
    ("intake.uninvite", "POST"): {"values": {"invitation_id": "@spare_invitation"}},
    ("intake.import_template", "GET"): {"values": {"kind": "usaha"}},
    ("proposals.detail", "GET"): {"values": {"proposal_id": "@proposal"}},
    ("proposals.edit", "GET"): {"values": {"proposal_id": "@proposal"}},
    ("proposals.edit", "POST"): {"values": {"proposal_id": "@proposal"}},
    ("proposals.submit", "POST"): {"values": {"proposal_id": "@draft"}},
    ("proposals.withdraw", "POST"): {"values": {"proposal_id": "@proposal"}},
    ("proposals.delete_draft", "POST"): {"values": {"proposal_id": "@draft"}},
    ("proposals.withdraw", "GET"): {"values": {"proposal_id": "@proposal"}},
    ("proposals.delete_draft", "GET"): {"values": {"proposal_id": "@draft"}},
    ("proposals.resubmit", "POST"): {"values": {"proposal_id": "@proposal"}},
    ("proposals.receipt_page", "GET"): {"values": {"proposal_id": "@proposal"}},
    ("proposals.receipt_pdf", "GET"): {"values": {"proposal_id": "@proposal"}},
    ("proposals.attachment", "GET"): {"values": {"proposal_id": "@proposal"}},
    ("review.export", "GET"): {"values": {"fmt": "json"}},
    ("review.clear_must_fund", "POST"): {"values": {"proposal_id": "@proposal"}},
    ("review.delete_exclusive_group", "POST"): {"values": {"group_id": "@exclusive_group"}},
    ("review.set_category_cap", "POST"): {"values": {"category_id": "@spare_category"}},
    ("review.rate", "GET"): {"values": {"proposal_id": "@proposal"}},
    ("review.rate", "POST"): {"values": {"proposal_id": "@proposal"}},
    ("review.decide", "GET"): {"values": {"proposal_id": "@proposal"}},
    ("review.decide", "POST"): {"values": {"proposal_id": "@proposal"}},
    ("review.declare_conflict", "GET"): {"values": {"business_id": "@business"}},
    ("review.declare_conflict", "POST"): {"values": {"business_id": "@business"}},
    ("review.withdraw_conflict", "POST"): {"values": {"conflict_id": "@conflict"}},
    ("review.merge", "GET"): {"values": {"key": "@cluster_key"}},
    ("review.merge", "POST"): {"values": {"key": "@cluster_key"}},
    ("review.dismiss_cluster", "POST"): {"values": {"key": "@cluster_key"}},
    ("review.undo_merge", "POST"): {"values": {"proposal_id": "@proposal"}},
    ("review.sipd_codes", "POST"): {"values": {"proposal_id": "@proposal"}},
    ("public.result", "GET"): {"values": {"session_id": "@finalized_session"}},
    ("followup.index", "GET"): {"values": {"session_id": "@finalized_session"}},
    ("followup.update", "GET"): {"values": {"follow_up_id": "@follow_up"}},
    ("followup.update", "POST"): {"values": {"follow_up_id": "@follow_up"}},
    ("followup.details", "POST"): {"values": {"follow_up_id": "@follow_up"}},
    ("followup.prepare", "POST"): {"values": {"session_id": "@finalized_session"}},
    ("followup.import_file", "GET"): {"values": {"session_id": "@finalized_session"}},
    ("followup.import_file", "POST"): {"values": {"session_id": "@finalized_session"}},
    ("followup.export", "GET"): {"values": {"session_id": "@finalized_session", "fmt": "csv"}},
    ("followup.photo", "GET"): {"values": {"update_id": "@follow_up_update"}},
    ("api.get_results", "GET"): {"values": {"session_id": "@finalized_session"}},
    ("api.get_follow_up", "GET"): {"values": {"session_id": "@finalized_session"}},
    ("api.get_proposal", "GET"): {"values": {"proposal_id": "@proposal"}},
    ("documents.view", "GET"): {"values": {"slug": "acara"}},
    ("documents.pdf", "GET"): {"values": {"slug": "acara"}},
    ("documents.prepare_pdf", "POST"): {"values": {"slug": "undangan"}},
    ("jobs.detail", "GET"): {"values": {"job_id": "@job"}},
    ("notifications.open", "POST"): {"values": {"notification_id": "@notification"}},
    ("notifications.read", "POST"): {"values": {"notification_id": "@notification"}},
    ("notifications.unsubscribe", "GET"): {"values": {"token": "@unsubscribe_token"}},
    ("notifications.unsubscribe", "POST"): {"values": {"token": "@unsubscribe_token"}},
    ("admin.resend_notification", "POST"): {"values": {"notification_id": "@failed_mail"}},
    ("jobs.download", "GET"): {"values": {"job_id": "@job"}},
    ("jobs.status", "GET"): {"values": {"job_id": "@job"}},
    ("documents.move_agenda_item", "POST"): {"values": {"item_id": "@agenda_item"}, "data": {"arah": "turun"}},
    ("documents.delete_agenda_item", "POST"): {"values": {"item_id": "@agenda_item"}},
    ("documents.mark", "POST"): {"values": {"invitation_id": "@spare_invitation"}, "data": {"hadir": "1"}},
}


def test_every_route_is_declared(app):
    routes = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    missing = sorted(routes - ACCESS.keys())
    stale = sorted(ACCESS.keys() - routes)
    assert not missing, f"routes without an access-control entry: {missing}"
    assert not stale, f"entries for routes that no longer exist: {stale}"
    for key, table in ACCESS.items():
        assert set(table) == set(ROLES), f"{key} does not declare every role"


def build_world(app) -> dict:
    """The objects every access case acts on; returns their ids by name."""
    from participation.auth.identity import hold_identity_change
    from participation.auth.passwords import hash_password
    from participation.demo import demo_logo
    from participation.documents.services import build_agenda, save_letterhead
    from participation.intake.services import invite
    from participation.models import (
        ConflictKind,
        IdentityChangeReason,
        Invitation,
        Job,
        JobState,
        Notification,
        NotificationChannel,
        NotificationState,
        Role,
        SeparateRegistration,
        User,
        utcnow,
    )
    from participation.review.conflicts import declare
    from participation.auth.api_tokens import issue as issue_token
    from participation.review.ranking import build_ranking
    from participation.sessions import services as session_services
    from tests.factories import (
        PDF_BYTES,
        as_actor,
        make_business,
        make_finalized_session,
        make_proposal,
        make_session,
    )

    def user(role, email):
        role = Role(role)
        account = User(email=email, name=email.split("@")[0].title(), role=role,
                       password_hash=hash_password(STAFF_PASSWORD if role.is_staff else TEST_PASSWORD),
                       email_verified_at=utcnow())
        from participation.extensions import db

        db.session.add(account)
        db.session.flush()
        return account

    with app_db(app) as session:
        accounts = {role: user(role, f"{role}@contoh.id") for role in ROLES[1:]}
        spare_facilitator = user("facilitator", "fasilitator2@contoh.id")
        spare_member = user("facilitator", "fasilitator3@contoh.id")
        themed_session = make_session(accounts["planner"], members=[accounts["facilitator"], spare_member])
        spare_category = session_services.add_category(themed_session, "Kategori cadangan", as_actor(accounts["planner"]))
        business = make_business(accounts["proponent"])
        spare_business = make_business(nib="9999999999999", name="Usaha Lain")
        third_business = make_business(nib="8888888888888", name="Usaha Ketiga")
        invite(themed_session, [business.id, third_business.id], as_actor(accounts["facilitator"]))
        proposal = make_proposal(themed_session, business, attachment=PDF_BYTES)
        draft = make_proposal(themed_session, business, submit=False, title="Draf usulan pelatihan")
        spare_invitation = session.scalar(
            session.query(Invitation).filter_by(business_id=third_business.id).statement)
        finalized = make_finalized_session(accounts["planner"], spare_business)
        follow_up, follow_up_update = follow_up_with_photo(finalized)
        agenda = build_agenda(themed_session, build_ranking(themed_session, stability=False),
                              as_actor(accounts["facilitator"]))
        save_letterhead({"institution_name": "Bappeda", "address": "", "contact": ""}, (demo_logo(), "image/png"),
                        False, as_actor(accounts["admin"]))
        identity_change = hold_identity_change(business, "7777777777777", "Usaha Baru", IdentityChangeReason.HAS_PROPOSALS,
                                               as_actor(accounts["proponent"]))
        # A business registered at the door beside the owner's, waiting for staff.
        door_business = make_business(nib=business.nib, name=business.name)
        separate_registration = SeparateRegistration(business_id=door_business.id, account_business_id=business.id,
                                                     session_id=themed_session.id)
        session.add(separate_registration)
        job = Job(kind="document_pdf", user=accounts["facilitator"], themed_session=themed_session,
                  params={"slug": "undangan"}, state=JobState.DONE, output_name="undangan.pdf",
                  output_type="application/pdf", output_data=PDF_BYTES, result={"slug": "undangan"})
        session.add(job)
        from participation.models import ExclusiveGroup

        exclusive_group = ExclusiveGroup(session_id=themed_session.id, name="Dua usulan serupa", members=[proposal])
        session.add(exclusive_group)
        # The facilitator's tie to a business on the roster without a proposal: nothing else changes.
        conflict = declare(as_actor(accounts["facilitator"]), accounts["facilitator"], third_business,
                           ConflictKind.FAMILY, "Sepupu pemilik")
        receipt = {"proposal_id": proposal.id, "receipt_number": proposal.receipt_number, "title": proposal.title,
                   "session_id": themed_session.id, "session_title": themed_session.title, "source": "online",
                   "editable_until_at": None}
        notification = Notification(user=accounts["proponent"], kind="proposal_receipt", payload=receipt,
                                    channel=NotificationChannel.IN_APP, state=NotificationState.SENT, attempts=0)
        failed_mail = Notification(user=accounts["proponent"], kind="proposal_receipt", payload=receipt,
                                   channel=NotificationChannel.EMAIL, state=NotificationState.FAILED, attempts=7,
                                   last_error="SMTP 550: mailbox unavailable")
        session.add_all([notification, failed_mail])
        api_token = issue_token(accounts["proponent"], "Skrip", ["read"], date.today() + timedelta(days=30),
                                as_actor(accounts["proponent"])).token
        session.commit()
        from participation.notifications.preferences import unsubscribe_token

        return {
            "notification": notification.id, "failed_mail": failed_mail.id,
        "unsubscribe_token": unsubscribe_token(accounts["proponent"]),
            "session": themed_session.id, "job": job.id, "spare_category": spare_category.id,
            "criterion": themed_session.criteria[-1].id, "proposal": proposal.id, "draft": draft.id,
            "cluster_key": f"{proposal.id}-{draft.id}",
            "spare_user": user_id_of(session, "fasilitator2@contoh.id"), "owner": accounts["proponent"].id,
            "spare_facilitator": spare_facilitator.id, "spare_facilitator_member": spare_member.id,
            "spare_business": spare_business.id, "spare_invitation": spare_invitation.id,
            "finalized_session": finalized.id, "agenda_item": agenda[0].id, "identity_change": identity_change.id,
            "separate_registration": separate_registration.id, "exclusive_group": exclusive_group.id,
            "business": business.id, "conflict": conflict.id, "follow_up": follow_up.id,
            "follow_up_update": follow_up_update.id, "api_token": api_token.id,
        }


def follow_up_with_photo(finalized):
    """The finalised session's follow-up records, and a first update with a photo on one of them."""
    from participation import storage
    from participation.extensions import db
    from participation.followup.services import ensure_follow_ups
    from participation.models import FollowUpStatus, FollowUpUpdate
    from tests.factories import PNG_BYTES

    follow_up = ensure_follow_ups(finalized)[0]
    entry = FollowUpUpdate(follow_up=follow_up, dated=finalized.created_at.date(), status=FollowUpStatus.IN_PROGRESS,
                           progress=10, realised_amount=0, photo_file=storage.new_file(PNG_BYTES, "image/png"),
                           photo_name="foto.png", photo_type="image/png", photo_size=len(PNG_BYTES))
    db.session.add(entry)
    db.session.flush()
    return follow_up, entry


def user_id_of(session, email):
    from participation.models import User

    return session.scalar(session.query(User.id).filter_by(email=email).statement)


@pytest.fixture
def access_app(app_config):
    """The app with CSRF off: this table tests who may call a route, not the token."""
    from participation import create_app

    app_config["WTF_CSRF_ENABLED"] = False
    return create_app(dict(app_config))


def resolve(spec: dict, world: dict) -> tuple[dict, dict]:
    def value(v):
        return world[v[1:]] if isinstance(v, str) and v.startswith("@") else v

    values = {"session_id": world["session"]}
    values.update({key: value(v) for key, v in spec.get("values", {}).items()})
    data = {key: value(v) for key, v in spec.get("data", {}).items()}
    return values, data


def url_for_case(app, endpoint, values):
    from flask import url_for

    with app.test_request_context():
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        return url_for(endpoint, **{k: v for k, v in values.items() if k in rule.arguments})


def signed_in_client(app, role):
    client = app.test_client()
    if role != "anonymous":
        password = STAFF_PASSWORD if role in STAFF else TEST_PASSWORD
        assert login(client, f"{role}@contoh.id", password).status_code == 303
    return client


def answer_problem(app, client, world, endpoint, method, role) -> str | None:
    """What is wrong with the answer to `role` (None: the declared status, and a login redirect
    that leads to /masuk)."""
    values, data = resolve(REQUESTS.get((endpoint, method), {}), world)
    url = url_for_case(app, endpoint, values)
    response = client.open(url, method=method, data=data)
    expected = ACCESS[(endpoint, method)][role]
    if response.status_code != expected:
        return f"{method} {url} as {role}: expected {expected}, got {response.status_code}"
    if expected == LOGIN_REDIRECT and role == "anonymous" and "/masuk" not in response.headers["Location"]:
        return f"{method} {url} as anonymous: redirected to {response.headers['Location']}, not /masuk"
    return None


# A GET changes nothing, so one world serves every role's request to the same page; a POST may
# (a draft deleted by its owner answers 404 to whoever asks next), so each role gets its own world.
GETS = [key for key in ACCESS if key[1] == "GET"]
CASES = [(endpoint, method, role) for (endpoint, method), table in ACCESS.items() if method != "GET"
         for role in ROLES]


@pytest.mark.parametrize("endpoint,method", GETS, ids=[e for e, _ in GETS])
def test_get_access(access_app, endpoint, method):
    world = build_world(access_app)
    problems = [answer_problem(access_app, signed_in_client(access_app, role), world, endpoint, method, role)
                for role in ROLES]
    assert [problem for problem in problems if problem] == []


@pytest.mark.parametrize("endpoint,method,role", CASES, ids=[f"{e}-{m}-{r}" for e, m, r in CASES])
def test_access(access_app, endpoint, method, role):
    world = build_world(access_app)
    problem = answer_problem(access_app, signed_in_client(access_app, role), world, endpoint, method, role)
    assert problem is None, problem


# Exempt from CSRF by design: a mail client's one-click unsubscribe (RFC 8058) has no session;
# the signed token in its address is the proof (tests/notifications/test_preferences.py). The API
# reads no cookie, so a bearer token is its only credential (tests/api/test_token_api.py).
CSRF_EXEMPT = {("notifications.unsubscribe", "POST"), ("api.create_proposal", "POST")}
POSTS = [key for key in ACCESS if key[1] == "POST" and key not in CSRF_EXEMPT]


@pytest.mark.parametrize("endpoint,method", POSTS, ids=[e for e, _ in POSTS])
def test_every_post_requires_a_csrf_token(app, endpoint, method):
    """With CSRF on, a POST without the token is refused before the view runs."""
    world = build_world(app)
    client = app.test_client()
    allowed = [role for role in ROLES[1:] if ACCESS[(endpoint, method)][role] not in (302, 403, 404)]
    if allowed and ACCESS[(endpoint, method)]["anonymous"] in (302, 403, 404):
        role = allowed[0]
        assert login(client, f"{role}@contoh.id", STAFF_PASSWORD if role in STAFF else TEST_PASSWORD).status_code == 303
    values, data = resolve(REQUESTS.get((endpoint, method), {}), world)
    response = client.post(url_for_case(app, endpoint, values), data=data)
    assert response.status_code == 400
    from participation.models import Proposal, ProposalStatus, User

    with app_db(app) as session:
        assert session.get(User, world["spare_user"]).active  # set_active did not run
        assert session.get(Proposal, world["proposal"]).status is ProposalStatus.SUBMITTED
        assert session.get(Proposal, world["draft"]) is not None
