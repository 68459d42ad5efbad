"""A message's text: subject, short summary, plain text and HTML, from its kind's two templates.

Rendered in whatever language is current: the worker wraps the call in `force_locale` with the
recipient's language, the in-app page renders in the reader's. Links in mail are absolute and
built from PUBLIC_BASE_URL (DEFAULT_PUBLIC_BASE_URL in development and tests), never from a
request's Host header, which a client controls. User text (a title) is data, never template
source: the .html template escapes it, and `{{7*7}}` in a title stays those seven characters.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from flask import current_app, url_for

from participation.notifications.registry import KINDS


@dataclass(frozen=True)
class Rendered:
    """What a message says: its subject and summary (plain, one line), both bodies and its link."""

    subject: str
    summary: str
    text: str
    html: str
    link: str


def base_url() -> str:
    """The site's public address, without a trailing slash."""
    config = current_app.config
    return (config.get("PUBLIC_BASE_URL") or config["DEFAULT_PUBLIC_BASE_URL"]).rstrip("/")


def public_url(endpoint: str, **values) -> str:
    """The absolute address of `endpoint` on the public site, whatever request (if any) is running."""
    parts = urlsplit(base_url())
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme)
    return adapter.build(endpoint, values, force_external=True)


def recipient_locale(user) -> str:
    """The language the user reads: their own if supported, else the default (Indonesian)."""
    if user is not None and user.locale in current_app.config["LANGUAGES"]:
        return user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _values(payload: dict) -> dict:
    """The payload for the templates: keys ending in `_at` hold ISO times, read back as datetimes."""
    values = {}
    for key, value in payload.items():
        if key.endswith("_at") and isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                value = None
        values[key] = value
    return values


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _block(template, name: str, context: dict) -> str:
    return _one_line("".join(template.blocks[name](template.new_context(context))))


def _context(notification, link: str) -> dict:
    user = notification.user
    registered = KINDS[notification.kind]
    extra = registered.context(notification.payload or {}) if registered.context else {}
    return {**_values(notification.payload or {}), **extra, "link": link,
            "recipient_name": user.name if user else "", "site_url": public_url("public.index"),
            "notifications_url": public_url("notifications.index")}


def link_of(notification, *, absolute: bool, secret: bool = False) -> str:
    """The message's link; with `secret`, the mail's own (a kind's `secret_link`, if it has one)."""
    registered = KINDS[notification.kind]
    if secret and registered.secret_link is not None:
        endpoint, values = registered.secret_link(notification.payload or {}, notification.user)
    else:
        endpoint, values = registered.link(notification.payload or {})
    return public_url(endpoint, **values) if absolute else url_for(endpoint, **values)


def render(notification) -> Rendered:
    """The whole message, for mail: absolute links."""
    text_name, html_name = KINDS[notification.kind].templates
    env = current_app.jinja_env
    text_template, html_template = env.get_template(text_name), env.get_template(html_name)
    link = link_of(notification, absolute=True, secret=True)
    context = _context(notification, link)
    subject = _block(text_template, "subject", context)
    return Rendered(subject=subject, summary=_block(text_template, "summary", context),
                    text=text_template.render(context).strip() + "\n",
                    html=html_template.render({**context, "subject": subject}), link=link)


@dataclass(frozen=True)
class Brief:
    """A message as the in-app list shows it: subject, summary and a link within the site."""

    notification: object
    subject: str
    summary: str
    link: str


def brief(notification, *, absolute: bool = False) -> Brief:
    """Subject, summary and a site-relative link, for the notifications page."""
    text_template = current_app.jinja_env.get_template(KINDS[notification.kind].templates[0])
    link = link_of(notification, absolute=absolute)
    context = _context(notification, link)
    return Brief(notification, _block(text_template, "subject", context),
                 _block(text_template, "summary", context), link)


def outline(notification) -> Brief:
    """Subject, summary and an absolute link: one item of a digest mail."""
    return brief(notification, absolute=True)
