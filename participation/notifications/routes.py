"""The bell's page: a signed-in user's in-app messages, the same ones as the mails."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from participation.extensions import db
from participation.models import Notification, NotificationChannel
from participation.notifications import render, services
from participation.security import web_actor

bp = Blueprint("notifications", __name__, url_prefix="/notifikasi")


def load_own(notification_id: int) -> Notification:
    """One of the current user's in-app messages; 404 for anyone else's (never 403)."""
    notification = db.get_or_404(Notification, notification_id)
    if notification.user_id != current_user.id or notification.channel is not NotificationChannel.IN_APP:
        abort(404)
    return notification


@bp.route("/")
@login_required
def index():
    items = [render.brief(notification) for notification in services.inbox(current_user)]
    unread = sum(1 for item in items if item.notification.is_unread)
    return render_template("notifications/index.html", items=items, unread=unread)


@bp.route("/<int:notification_id>/buka", methods=["POST"])
@login_required
def open(notification_id: int):
    """Mark the message read and go where it leads."""
    notification = load_own(notification_id)
    services.mark_read(notification, web_actor())
    db.session.commit()
    return redirect(render.link_of(notification, absolute=False), code=303)


@bp.route("/<int:notification_id>/baca", methods=["POST"])
@login_required
def read(notification_id: int):
    notification = load_own(notification_id)
    services.mark_read(notification, web_actor())
    db.session.commit()
    return redirect(url_for("notifications.index"), code=303)


@bp.route("/baca-semua", methods=["POST"])
@login_required
def read_all():
    count = services.mark_all_read(current_user, web_actor())
    db.session.commit()
    if count:
        flash(_("All notifications are marked as read."), "success")
    return redirect(url_for("notifications.index"), code=303)


def unread_for_current_user() -> int:
    """The bell's count on every page: the signed-in user's unread in-app messages (0 signed out)."""
    if not current_user or not current_user.is_authenticated:
        return 0
    return services.unread_count(current_user)
