"""The kinds of message: which events start them, who gets them, what they say and where they lead.

A kind is one function, registered with `@kind(name, on=events, link=...)`: given the audit event,
the actor and the object, it returns the `Notice`s to write (none when nobody is to be told),
each a recipient and the payload the message needs. The text lives in two templates,
templates/mail/<name>.txt (blocks `subject`, `summary` and `body`: plain text, also the in-app
list's subject and short body) and templates/mail/<name>.html (block `body`).

A kind with `choices` follows each user's preference (participation/notifications/preferences.py):
immediately, in the daily digest, in the app only (or, for an opt-in kind, not at all); the others
(receipts, outcomes) always go by email. A scheduled kind answers no event (`on=()`): the worker's
scan (schedule.py) writes its notices, each with a `key` that makes it unique.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from participation.models import NotificationChannel, NotificationMode

BOTH = (NotificationChannel.EMAIL, NotificationChannel.IN_APP)


@dataclass(frozen=True)
class Notice:
    """One message to write: to `user`, saying `payload`, on `channels` (email and in-app by default)."""

    user: object  # a User
    payload: dict
    channels: tuple[NotificationChannel, ...] = BOTH
    key: str | None = None  # a scheduled message's unique key (written at most once per channel)


Build = Callable[[object, object, object], Iterable[Notice]]  # (AuditEvent, Actor, obj) -> notices
Link = Callable[[dict], tuple[str, dict]]  # payload -> (endpoint, values)
# (payload, user) -> (endpoint, values): a link with a secret in it (a reset or verification
# token), computed when the mail is rendered and never stored; only the mail carries it.
SecretLink = Callable[[dict, object], tuple[str, dict]]


@dataclass(frozen=True)
class Kind:
    """A kind of message: its name (the templates' too), the events it answers and its link."""

    name: str
    events: tuple[str, ...]
    build: Build
    link: Link
    secret_link: SecretLink | None = None
    choices: tuple[NotificationMode, ...] = ()  # empty: always by email and in the app
    default: NotificationMode = NotificationMode.IMMEDIATE
    label: object = None  # a lazy string: the kind's name on the preferences form
    # Extra template values read at render time (the digest's items); payload -> dict.
    context: Callable[[object], dict] | None = None
    audience: str = "all"  # whose preferences form offers it: "owners", "staff" or "all"
    templates: tuple[str, str] = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "templates", (f"mail/{self.name}.txt", f"mail/{self.name}.html"))


KINDS: dict[str, Kind] = {}


def kind(name: str, *, on: str | tuple[str, ...], link: Link, secret_link: SecretLink | None = None,
         choices: tuple[NotificationMode, ...] = (), default: NotificationMode = NotificationMode.IMMEDIATE,
         label=None, context=None, audience: str = "all"):
    """Register the function that turns the events `on` into messages of kind `name`.

    `link` is where the in-app list (and the admins' list of troubled mail) points; a kind with a
    `secret_link` puts that one in the mail instead, computed at send time."""
    events = (on,) if isinstance(on, str) else tuple(on)

    def decorator(function: Build) -> Build:
        KINDS[name] = Kind(name, events, function, link, secret_link=secret_link, choices=tuple(choices),
                           default=default, label=label, context=context, audience=audience)
        return function
    return decorator


# The choices of a kind that follows the user's preference; OPT_IN adds "not at all" (its default).
CHOICES = (NotificationMode.IMMEDIATE, NotificationMode.DIGEST, NotificationMode.IN_APP)
OPT_IN = (NotificationMode.OFF, *CHOICES)


def preferable(staff: bool | None = None) -> list[Kind]:
    """The kinds a user chooses how to get, in the order they were registered (with `staff` given:
    those meant for staff, or for business owners)."""
    wanted = {None: ("all", "owners", "staff"), True: ("all", "staff"), False: ("all", "owners")}[staff]
    return [registered for registered in KINDS.values() if registered.choices and registered.audience in wanted]


def kinds_for(event: str) -> list[Kind]:
    """The kinds that answer `event`, in the order they were registered."""
    return [registered for registered in KINDS.values() if event in registered.events]
