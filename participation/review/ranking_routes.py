"""The planner's ranked list: what-if weights, saving them, AHP, and the exports."""
from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from participation import jobs, scoring
from participation.extensions import db
from participation.i18n import criterion_value, number
from participation.models import ThemedSession, WeightsOrigin
from participation.review import conflicts, exports, services
from participation.review import stability as stability_jobs
from participation.review.blueprint import bp
from participation.review.forms import make_ahp_form, make_whatif_form
from participation.review.ranking import STABILITY_DRAWS, build_matrix, build_ranking, compare, load_proposals
from participation.scoring.ahp import RANDOM_INDEX
from participation.security import MANAGERS, STAFF, rerender_on_csrf_error, session_page, web_actor
from participation.sessions import services as session_services
from participation.sessions.errors import error_message as session_error_message

PAGE_SIZE = 50
AHP_MAX_CRITERIA = max(RANDOM_INDEX)  # Saaty's random index (DESIGN §5) is tabulated up to n = 10
OVERRIDE_ERRORS = ("ahp_override_required", "ahp_override_length")


@bp.route("/peringkat")
@session_page(*STAFF)
def ranking(themed_session: ThemedSession):
    proposals = load_proposals(themed_session)
    matrix = build_matrix(themed_session, proposals, list(themed_session.criteria))
    whatif_form = make_whatif_form(themed_session)(request.args if _whatif_requested() else None)
    saved = build_ranking(themed_session, proposals=proposals, matrix=matrix,
                          stability=False if _whatif_requested() else "quick")
    shown, trying = saved, False
    if _whatif_requested() and whatif_form.validate():
        shown = build_ranking(themed_session, weights=whatif_form.weights(), stability=False,
                              proposals=proposals, matrix=matrix)
        compare(shown, saved)
        trying = True
    items, filters = _filtered(shown.items)
    page, pages, items_on_page = _page(items)
    bars = {item.proposal.id: bar_segments(item, shown.criteria) for item in items_on_page if item.rank}
    snapshot = services.latest_snapshot(themed_session)
    return render_template("review/ranking.html", themed_session=themed_session, ranking=shown,
                           items=items_on_page, page=page, pages=pages, filters=filters,
                           whatif_form=whatif_form, trying=trying, snapshot=snapshot,
                           can_manage=themed_session.can_manage(current_user),
                           draws=STABILITY_DRAWS[themed_session.selection_method.value], bars=bars,
                           palette=PALETTE, left_out=conflicts.left_out_ratings(themed_session),
                           categories=themed_session.categories,
                           stability_deferred=saved.stability_deferred,
                           stability_job=stability_jobs.pending_job(themed_session) if saved.stability_deferred else None,
                           kecamatans=sorted({p.kecamatan for p in proposals if p.kecamatan}))


@bp.route("/peringkat/stabilitas", methods=["POST"])
@session_page(*STAFF)
def compute_stability(themed_session: ThemedSession):
    """Queue the stability the ranked list leaves to the worker (optimal selection under constraints)."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    job = stability_jobs.pending_job(themed_session)
    if job is None:
        job = jobs.enqueue(stability_jobs.KIND, web_actor(), themed_session=themed_session)
        db.session.commit()
    if job.user_id != current_user.id:  # another planner's job: its page is theirs; the list says it runs
        flash(_("The stability is already being computed; the ranked list shows it when it is done."), "info")
        return redirect(url_for("review.ranking", session_id=themed_session.id), code=303)
    return redirect(url_for("jobs.detail", job_id=job.id), code=303)


PALETTE = ("#0a3d91", "#1b7f5b", "#b35c00", "#7a3e9d", "#a11d48", "#2b6f8f", "#5d6b00", "#6b4f2a",
           "#3d5a80", "#8f2d56")
BAR_WIDTH = 180


def bar_segments(item, criteria) -> list[dict]:
    """The stacked contribution bar of one proposal: one segment per criterion, with its figures."""
    segments, x = [], 0.0
    for index, criterion in enumerate(criteria):
        part = item.contributions.get(criterion.key, 0.0)
        width = round(part * BAR_WIDTH, 2)
        segments.append({"x": round(x, 2), "width": width, "colour": PALETTE[index % len(PALETTE)],
                         "name": criterion.name, "part": number(part, 3),
                         "value": criterion_value(criterion.source, item.values.get(criterion.key))})
        x += width
    return segments


def _whatif_requested() -> bool:
    return any(key.startswith("w") and key[1:].isdigit() for key in request.args)


def _filtered(items):
    """Filter by category and kecamatan after ranking, so that ranks stay those of the whole list."""
    category = request.args.get("kategori", type=int)
    kecamatan = request.args.get("kecamatan", "")[:100]
    if category:
        items = [item for item in items if item.proposal.category_id == category]
    if kecamatan:
        items = [item for item in items if item.proposal.kecamatan == kecamatan]
    return items, {"kategori": category, "kecamatan": kecamatan}


def _page(items):
    pages = max(1, -(-len(items) // PAGE_SIZE))
    page = min(max(request.args.get("halaman", 1, type=int) or 1, 1), pages)
    return page, pages, items[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]


@bp.route("/peringkat/bobot", methods=["POST"])
@session_page(*MANAGERS, manage=True)
@rerender_on_csrf_error
def save_weights(themed_session: ThemedSession):
    """Keep the weights tried out on the ranked list (a separate, audited POST)."""
    session_id = themed_session.id
    form = make_whatif_form(themed_session)(request.form)
    if not form.validate():
        flash(_("The weights could not be saved; check them and try again."), "danger")
        # Back to the what-if view with what was typed, where each bad weight is marked.
        typed = {f"w{c.id}": (request.form.get(f"w{c.id}") or "")[:50] for c in themed_session.criteria}
        return redirect(url_for("review.ranking", session_id=session_id, **typed), code=303)
    if not themed_session.is_editable:  # a page left open while the session was finalised
        flash(session_error_message(session_services.SessionError("locked")), "danger")
        return redirect(url_for("review.ranking", session_id=session_id), code=303)
    weights = {c.id: weight for c, weight in zip(themed_session.criteria, form.weights(), strict=True)}
    try:
        session_services.set_weights(themed_session, weights, web_actor(), origin=WeightsOrigin.MANUAL)
    except session_services.SessionError as error:
        db.session.rollback()
        flash(session_error_message(error), "danger")
        return redirect(url_for("review.ranking", session_id=session_id), code=303)
    db.session.commit()
    flash(_("The weights have been saved."), "success")
    return redirect(url_for("review.ranking", session_id=session_id), code=303)


@bp.route("/peringkat.<fmt>")
@session_page(*STAFF)
def export(themed_session: ThemedSession, fmt: str):
    if fmt not in exports.FORMATS:
        abort(404)
    payload = exports.current_payload(themed_session)
    body, mimetype = exports.render(payload, fmt, themed_session)
    filename = f"peringkat-sesi-{themed_session.id}.{fmt}"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/peringkat-sipd.xlsx")
@session_page(*MANAGERS, manage=True)
def export_sipd(themed_session: ThemedSession):
    """The funded proposals in SIPD's usulan layout (DESIGN §10), for the session's planners."""
    body, mimetype = exports.render(exports.current_payload(themed_session), exports.SIPD_FORMAT, themed_session)
    filename = f"usulan-sipd-sesi-{themed_session.id}.xlsx"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/ahp", methods=["GET", "POST"])
@session_page(*MANAGERS, manage=True)
@rerender_on_csrf_error
def ahp(themed_session: ThemedSession):
    session_id = themed_session.id
    criteria = list(themed_session.criteria)
    form = make_ahp_form(criteria)()
    if request.method == "GET" and themed_session.ahp_matrix and len(themed_session.ahp_matrix) == len(criteria):
        _fill_from_matrix(form, criteria, themed_session.ahp_matrix)
    result, status = None, 200
    if request.method == "POST":
        status = 400
    if len(criteria) > AHP_MAX_CRITERIA:
        form.form_errors.append(_("AHP compares 2 to %(max)d criteria (Saaty's random index goes no further); "
                                  "this session has %(count)d. Set the weights directly.",
                                  max=AHP_MAX_CRITERIA, count=len(criteria)))
    elif form.validate_on_submit():
        status = 200
        if len(criteria) < 2:
            form.form_errors.append(_("AHP needs at least two criteria."))
            status = 400
        else:
            result = scoring.ahp_weights(form.matrix())
            if request.form.get("action") == "save":
                weights = {c.id: w for c, w in zip(criteria, result.weights.tolist(), strict=True)}
                try:
                    session_services.set_weights(themed_session, weights, web_actor(), origin=WeightsOrigin.AHP,
                                                 ahp_matrix=form.matrix(), ahp_cr=float(result.cr),
                                                 override_reason=form.override_reason.data)
                except session_services.SessionError as error:
                    db.session.rollback()
                    if str(error) not in OVERRIDE_ERRORS:
                        flash(session_error_message(error), "danger")
                        return redirect(url_for("review.ahp", session_id=session_id), code=303)
                    # Refused for want of a reason: the page again, with the comparisons as typed.
                    form.override_reason.errors.append(session_error_message(error))
                    return render_template("review/ahp.html", themed_session=themed_session, form=form,
                                           result=result, criteria=criteria, too_many=False), 400
                db.session.commit()
                flash(_("The AHP weights have been applied."), "success")
                return redirect(url_for("review.ranking", session_id=session_id), code=303)
    return render_template("review/ahp.html", themed_session=themed_session, form=form, result=result,
                           criteria=criteria, too_many=len(criteria) > AHP_MAX_CRITERIA), status


def _fill_from_matrix(form, criteria, matrix):
    from fractions import Fraction

    index = {c.id: i for i, c in enumerate(criteria)}
    for a, b, field in form.pairs():
        value = Fraction(matrix[index[a.id]][index[b.id]]).limit_denominator(9)
        field.data = str(value)
