"""The administrator's pages: accounts, the audit log and the outgoing mail that is in trouble."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from participation import limits
from participation.admin.forms import StaffUserForm
from participation.auth import services
from participation.extensions import db
from participation.models import (
    AuditEvent,
    Notification,
    NotificationChannel,
    NotificationState,
    Role,
    User,
)
from participation.security import rerender_on_csrf_error, role_required, web_actor

bp = Blueprint("admin", __name__, url_prefix="/admin")

AUDIT_PAGE_SIZE = 50
USERS_PAGE_SIZE = 100


def paginate(query, page_size: int):
    """One page of `query` (ordered by the caller) and the page count; `halaman` picks the page."""
    page = request.args.get("halaman", 1, type=int) or 1
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    pages = max(1, -(-total // page_size))
    page = min(max(page, 1), pages)
    items = db.session.scalars(query.limit(page_size).offset((page - 1) * page_size)).all()
    return items, {"page": page, "pages": pages, "total": total}


@bp.route("/pengguna")
@role_required(Role.ADMIN)
def users():
    role = request.args.get("peran", "")
    query = select(User).order_by(User.role, User.name, User.id)
    if role in {r.value for r in Role}:
        query = query.where(User.role == Role(role))
    else:
        role = ""
    items, paging = paginate(query, USERS_PAGE_SIZE)
    return render_template("admin/users.html", users=items, paging=paging, roles=list(Role),
                           selected_role=role)


@bp.route("/pengguna/baru", methods=["GET", "POST"])
@role_required(Role.ADMIN)
@rerender_on_csrf_error
def new_user():
    form = StaffUserForm()
    if form.validate_on_submit():
        try:
            user = services.create_user(web_actor(), email=form.email.data, name=form.name.data,
                                        role=Role(form.role.data), password=form.password.data,
                                        phone=form.phone.data or None)
        except services.EmailTaken:
            form.email.errors.append(_("An account with this email already exists."))
        except services.WeakPassword as error:
            form.password.errors.extend(error.problems)
        else:
            db.session.commit()
            flash(_("The account for %(name)s has been created.", name=user.name), "success")
            return redirect(url_for("admin.users"), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("admin/new_user.html", form=form), status


@bp.route("/pengguna/<int:user_id>/aktif", methods=["POST"])
@role_required(Role.ADMIN)
def set_active(user_id: int):
    user = db.get_or_404(User, user_id)
    active = request.form.get("active")
    if active not in {"0", "1"}:
        abort(400)
    if not current_user.can_deactivate(user):
        abort(403)
    services.set_active(user, active == "1", web_actor())
    db.session.commit()
    if user.active:
        flash(_("%(name)s can sign in again.", name=user.name), "success")
    else:
        flash(_("%(name)s has been deactivated and signed out.", name=user.name), "success")
    return redirect(url_for("admin.users"), code=303)


@bp.route("/pengguna/<int:user_id>/tautan-kata-sandi", methods=["POST"])
@role_required(Role.ADMIN)
def reset_link(user_id: int):
    """A one-time link to choose a new password, for an owner who cannot receive mail: shown
    once, on this answer to the POST (never stored, never in the audit), for the facilitator to
    hand over. The usual rules hold: once, 30 minutes, dead when the password changes."""
    from participation.auth import recovery

    user = db.get_or_404(User, user_id)
    try:
        link, expires_at = recovery.issue_reset_link(user, web_actor())
    except recovery.InvalidLink:
        abort(404)
    db.session.commit()
    return render_template("admin/reset_link.html", account=user, link=link, expires_at=expires_at)


@bp.route("/audit")
@role_required(Role.ADMIN)
def audit():
    query = select(AuditEvent).options(selectinload(AuditEvent.actor)).order_by(AuditEvent.id.desc())
    events, paging = paginate(query, AUDIT_PAGE_SIZE)
    return render_template("admin/audit.html", events=events, paging=paging, limits=limits.overview())


@bp.route("/notifikasi")
@role_required(Role.ADMIN)
def notifications():
    """Email messages that failed (with the reason) or wait for a retry, and the queue's counts."""
    from participation.notifications import render
    from participation.notifications import services as outbox

    counts = dict(db.session.execute(select(Notification.state, func.count(Notification.id))
                                     .where(Notification.channel == NotificationChannel.EMAIL)
                                     .group_by(Notification.state)).all())
    items = [(render.brief(notification), notification) for notification in outbox.troubled()]
    return render_template("admin/notifications.html", items=items, counts=counts, states=list(NotificationState))


@bp.route("/notifikasi/<int:notification_id>/kirim-ulang", methods=["POST"])
@role_required(Role.ADMIN)
def resend_notification(notification_id: int):
    from participation.notifications import services as outbox

    notification = db.get_or_404(Notification, notification_id)
    try:
        outbox.resend(notification, web_actor())
    except outbox.NotResendable:
        flash(_("This message is not waiting to be sent again."), "warning")
    else:
        db.session.commit()
        flash(_("The message to %(email)s will be sent again shortly.", email=notification.user.email), "success")
    return redirect(url_for("admin.notifications"), code=303)
