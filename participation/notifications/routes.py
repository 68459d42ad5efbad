"""The bell's page: a signed-in user's in-app messages, the same ones as the mails."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from participation.extensions import csrf, db
from participation.models import Notification, NotificationChannel
from participation.notifications import preferences, render, services
from participation.notifications.forms import preferences_form
from participation.security import rerender_on_csrf_error, web_actor

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


@bp.route("/preferensi", methods=["POST"])
@login_required
@rerender_on_csrf_error
def save_preferences():
    """The account page's choice, per kind of message, of how it comes."""
    from participation.auth.forms import ChangePasswordForm

    user = current_user._get_current_object()
    form = preferences_form(user, formdata=request.form)
    if form.validate_on_submit():
        changes = preferences.save(user, form.modes(), web_actor())
        db.session.commit()
        flash(_("Your notification preferences have been saved.") if changes
              else _("Your notification preferences are unchanged."), "success")
        return redirect(url_for("auth.account") + "#notification-preferences", code=303)
    return render_template("auth/account.html", form=ChangePasswordForm(formdata=None), business=user.business,
                           preferences_form=form), 400


@bp.route("/berhenti/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: the mail client posts without a session; the signed token is the proof
def unsubscribe(token: str):
    """The digest's unsubscribe link: GET asks, POST (the page's button or a one-click client) does it."""
    from participation.events import Actor, Channel
    from participation.security import client_ip

    user = preferences.user_of_token(token)
    if user is None:
        abort(404)
    if request.method == "POST":
        moved = preferences.unsubscribe_digest(user, Actor(user=user, ip=client_ip(), channel=Channel.WEB))
        db.session.commit()
        return render_template("notifications/unsubscribe.html", done=True, moved=moved, token=token)
    return render_template("notifications/unsubscribe.html", done=False, token=token,
                           digest_kinds=[name for name, mode in preferences.modes_of(user).items()
                                         if mode.value == "digest"])


def unread_for_current_user() -> int:
    """The bell's count on every page: the signed-in user's unread in-app messages (0 signed out)."""
    if not current_user or not current_user.is_authenticated:
        return 0
    return services.unread_count(current_user)


def current_preferences_form():
    """The account page's preferences form for the signed-in user, with their current choices."""
    return preferences_form(current_user._get_current_object())
