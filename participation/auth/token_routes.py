"""The account page's personal access tokens: make one (shown once), revoke one."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from participation.auth import api_tokens
from participation.auth.forms import ApiTokenForm, ChangePasswordForm
from participation.extensions import db
from participation.security import rerender_on_csrf_error, web_actor

bp = Blueprint("api_tokens", __name__)


def new_token_form(**kwargs) -> ApiTokenForm:
    """The empty form of the account page, its expiry set to the default."""
    form = ApiTokenForm(**kwargs)
    if form.expires_on.data is None and not form.is_submitted():
        form.expires_on.data = api_tokens.default_expiry()
    return form


@bp.app_context_processor
def token_helpers():
    def api_token_list(user):
        return api_tokens.tokens_of(user)

    return {"api_token_list": api_token_list, "new_api_token_form": new_token_form,
            "api_token_last_day": api_tokens.last_day, "api_token_now": api_tokens.utcnow}


@bp.route("/akun/token", methods=["POST"])
@login_required
@rerender_on_csrf_error
def create():
    """Make a token and show its whole text, this once."""
    user = current_user._get_current_object()
    form = ApiTokenForm()
    if form.validate_on_submit():
        try:
            issued = api_tokens.issue(user, form.name.data, form.scopes, form.expires_on.data, web_actor())
        except api_tokens.TokenRefused as error:
            field = form.scope_read if error.field == "scopes" else form[error.field]
            field.errors = [*field.errors, error.message]
        else:
            db.session.commit()
            return render_template("auth/api_token_created.html", token=issued.token, raw=issued.raw)
    page = render_template("auth/account.html", form=ChangePasswordForm(formdata=None), business=user.business,
                           token_form=form)
    return page, 400


@bp.route("/akun/token/<int:token_id>/cabut", methods=["POST"])
@login_required
def revoke(token_id: int):
    """Stop one of the user's tokens from working; another's token does not exist here."""
    token = api_tokens.token_of(current_user, token_id)
    if token is None:
        abort(404)
    api_tokens.revoke(token, web_actor())
    db.session.commit()
    flash(_("The token %(prefix)s has been revoked and no longer works.", prefix=token.prefix), "success")
    return redirect(url_for("auth.account", _anchor="api-tokens-title"), code=303)
