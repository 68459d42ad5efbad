"""Musrenbang Tematik participation platform."""
from __future__ import annotations


def create_app(config=None):
    """Build the app; `config` is a dict of overrides or a config class name/object."""
    from flask import Flask

    from participation.config import BASE_DIR, Config, config_class, instance_dir
    from participation.database import BoundedIntegerConverter

    if isinstance(config, type) and issubclass(config, Config):
        config_cls, overrides = config, {}
    elif isinstance(config, str):
        config_cls, overrides = config_class(config), {}
    else:
        overrides = dict(config or {})
        config_cls = config_class(overrides.pop("APP_ENV", None))

    app = Flask(
        __name__,
        instance_path=str(instance_dir()),
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
    )
    app.config.from_object(config_cls)
    app.config.update(config_cls.from_environ())
    app.config.update(overrides)
    config_cls.validate(app.config)
    app.url_map.converters["int"] = BoundedIntegerConverter

    register_extensions(app)
    register_blueprints(app)
    register_request_hooks(app)
    register_template_helpers(app)
    register_commands(app)
    trust_proxies(app)
    return app


def trust_proxies(app) -> None:
    """Believe the X-Forwarded-* headers of the TRUSTED_PROXIES proxies in front (DESIGN §8)."""
    hops = app.config["TRUSTED_PROXIES"]
    if not hops:
        return
    from werkzeug.middleware.proxy_fix import ProxyFix

    # Each header is believed for `hops` entries from the right: the ones our proxies appended.
    # Anything further left came from the client and stays untrusted.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops)


def register_extensions(app) -> None:
    """Bind the extensions to `app` and prepare the database engine."""
    from participation.config import BASE_DIR
    from participation.database import configure_engine
    from participation.extensions import babel, csrf, db, login_manager, mail, migrate
    from participation.i18n import select_locale

    import participation.models  # noqa: F401  (registers every table on the metadata)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), compare_type=True,
                     render_as_batch=True)
    # Every POST is checked here, before any view runs; button routes need no form of their own.
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    mail.init_app(app)  # used only when MAIL_SERVER is set (participation/notifications/mailer.py)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # sessions are bound by the epoch, not the IP

    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Please sign in to open that page.")
    from participation.database import end_reading_request, mark_reading_request

    app.before_request(mark_reading_request)  # first of all hooks: before anything queries
    app.teardown_request(end_reading_request)
    with app.app_context():
        configure_engine(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
    from participation import storage

    storage.init_app(app)  # STORAGE_URL: stored files in an object store instead of the database


def register_blueprints(app) -> None:
    """Mount every blueprint."""
    from participation.admin.routes import bp as admin_bp
    from participation.auth.routes import bp as auth_bp
    from participation.auth.token_routes import bp as api_tokens_bp
    from participation.auth.two_factor_routes import bp as two_factor_bp
    from participation.documents.routes import bp as documents_bp
    from participation.followup.routes import bp as followup_bp
    from participation.health import bp as health_bp
    from participation.intake.routes import bp as intake_bp
    from participation.jobs.routes import bp as jobs_bp
    from participation.notifications.routes import bp as notifications_bp
    from participation.auth.privacy_routes import bp as privacy_bp
    from participation.auth.recovery_routes import bp as recovery_bp
    from participation.proposals.routes import bp as proposals_bp
    from participation.public.routes import bp as public_bp
    from participation.review.routes import bp as review_bp
    from participation.sessions.routes import bp as sessions_bp
    from participation.wellknown import bp as wellknown_bp

    import participation.documents.jobs  # noqa: F401  (registers the kinds of background job)
    import participation.intake.jobs  # noqa: F401
    import participation.review.stability  # noqa: F401
    import participation.notifications.kinds  # noqa: F401  (registers the kinds of message)
    import participation.notifications.account_kinds  # noqa: F401
    import participation.notifications.outbox  # noqa: F401  (subscribes to the events)

    from participation.api import register_api

    register_api(app)  # /api/v1, first: its hooks run before the web's (no cookie is read there)
    for blueprint in (public_bp, auth_bp, admin_bp, sessions_bp, proposals_bp, intake_bp, review_bp, documents_bp, jobs_bp,
                      health_bp, two_factor_bp, wellknown_bp, privacy_bp, notifications_bp,
                      recovery_bp, followup_bp, api_tokens_bp):
        app.register_blueprint(blueprint)


def register_request_hooks(app) -> None:
    """Session lifetime checks, security headers and error pages."""
    from participation.errors import register_error_handlers
    from participation.security import enforce_session_lifetime, set_security_headers

    app.before_request(enforce_session_lifetime)
    app.after_request(set_security_headers)
    register_error_handlers(app)


def register_template_helpers(app) -> None:
    """Filters and globals for templates."""
    from participation.i18n import register_formatters

    from participation.models import (
        CriterionSource,
        Normalization,
        Outcome,
        RatingAggregation,
        ScoringMethod,
        SelectionMethod,
    )
    from participation.review.agreement import alpha_text, raters_rule, signed

    app.jinja_env.add_extension("jinja2.ext.do")
    register_formatters(app)
    # A snapshot's payload keeps plain codes ("saw", "greedy"); these print them as translated labels.
    for name, enum_cls in (("outcome_label", Outcome), ("source_label", CriterionSource),
                           ("method_label", ScoringMethod), ("normalization_label", Normalization),
                           ("selection_label", SelectionMethod), ("aggregation_label", RatingAggregation)):
        app.jinja_env.globals[name] = enum_cls.label_of
    app.jinja_env.globals.update(raters_rule=raters_rule, signed=signed, alpha_text=alpha_text)
    # ...and this one turns a decision's code into its member, for `status_badge`.
    app.jinja_env.globals["outcome_of"] = Outcome.of
    from participation.models import FollowUpStatus

    app.jinja_env.globals["follow_up_status_of"] = FollowUpStatus.of
    from participation.notifications.routes import unread_for_current_user

    app.jinja_env.globals["unread_notifications"] = unread_for_current_user
    from participation.notifications.routes import current_preferences_form

    app.jinja_env.globals["notification_preferences_form"] = current_preferences_form
    from participation import whatsapp

    app.jinja_env.globals["whatsapp_invitation"] = whatsapp.invitation_link
    from participation.documents.services import DEFAULT_INVITATION_NOTES

    # What to bring, when the facilitator wrote nothing: in the language being rendered.
    app.jinja_env.globals["default_invitation_notes"] = lambda: str(DEFAULT_INVITATION_NOTES)
    app.jinja_env.globals["whatsapp_receipt"] = whatsapp.receipt_link
    from participation.intake.place_matching import stored_place_problem

    app.jinja_env.globals["place_problem"] = stored_place_problem


def register_commands(app) -> None:
    """The `flask` commands of DESIGN §6."""
    from participation.cli import register_cli

    register_cli(app)
