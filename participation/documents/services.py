"""The meeting's documents: agenda, check-in, attendance figures, letterhead, and what each PDF shows."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import to_user_timezone
from sqlalchemy import select

from participation.events import Actor, record
from participation.extensions import db
from participation.intake.services import add_invitations, find_or_create_business
from participation.models import (
    AgendaItem,
    AgendaKind,
    Invitation,
    Letterhead,
    LetterNature,
    ThemedSession,
    utcnow,
)

# The default susunan acara; presentation blocks are inserted after the remarks.
DEFAULT_AGENDA = (
    (AgendaKind.OPENING, "Pembukaan dan menyanyikan lagu Indonesia Raya", 10),
    (AgendaKind.REMARKS, "Sambutan Kepala Bappeda", 15),
    (AgendaKind.DELIBERATION, "Musyawarah dan tanya jawab", 30),
    (AgendaKind.AGREEMENT, "Kesepakatan prioritas usulan", 20),
    (AgendaKind.CLOSING, "Penutupan dan penandatanganan berita acara", 10),
)
# What to bring, until the facilitator writes their own: in the language the letters are printed in.
DEFAULT_INVITATION_NOTES = _l("Bring a copy of your NIB, a sample of your best product and proof that you "
                              "submitted a proposal (its receipt number). Participants without a phone can "
                              "fill in a paper proposal form at the meeting.")
PRESENTATION_TITLE = "Paparan usulan: {category}"
# The break for midday prayer and lunch, placed by the template at the boundary nearest to noon.
ISHOMA = (AgendaKind.OTHER, "ISHOMA (istirahat, sholat, makan)", 60)
NOON = time(12, 0)
SETTINGS_FIELDS = ("minutes_per_proposal", "invitation_notes", "chair_name", "secretary_name",
                   "participant_representative", "letter_number", "letter_nature", "letter_attachments",
                   "letter_subject", "letter_date", "signatory_name", "signatory_title", "signatory_nip")


class DocumentsError(Exception):
    """A rule refused the change; `code` says which."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass
class ScheduledItem:
    """An agenda item with its time slot and, for a presentation block, its proposals."""

    item: AgendaItem
    start: datetime | None
    end: datetime | None
    minutes: int
    proposals: list = field(default_factory=list)


def presentation_groups(ranking) -> dict[int | None, list]:
    """Ranked proposals by category (rank order within each); categories by their best rank."""
    groups: dict[int | None, list] = {}
    for item in ranking.items:
        groups.setdefault(item.proposal.category_id, []).append(item)
    return dict(sorted(groups.items(), key=lambda pair: min(i.rank or 10**9 for i in pair[1])))


def default_agenda(themed_session: ThemedSession, ranking) -> list[AgendaItem]:
    """The template's agenda, not saved: a presentation block per category, in rank order, and ISHOMA."""
    names = {category.id: category.name for category in themed_session.categories}
    groups = presentation_groups(ranking)
    items = [AgendaItem(kind=kind, title=title, duration_minutes=minutes) for kind, title, minutes in DEFAULT_AGENDA[:2]]
    for category_id, proposals in groups.items():
        items.append(AgendaItem(kind=AgendaKind.PRESENTATION, category_id=category_id,
                                # What the block will last, for placing the break; scheduling recomputes it.
                                duration_minutes=len(proposals) * themed_session.minutes_per_proposal,
                                title=PRESENTATION_TITLE.format(category=names.get(category_id, "Lain-lain"))))
    items += [AgendaItem(kind=kind, title=title, duration_minutes=minutes) for kind, title, minutes in DEFAULT_AGENDA[2:]]
    kind, title, minutes = ISHOMA
    items.insert(_break_position(themed_session, items), AgendaItem(kind=kind, title=title, duration_minutes=minutes))
    for position, item in enumerate(items):
        item.position = position
        if item.kind is AgendaKind.PRESENTATION:
            item.duration_minutes = 0  # a block's length always comes from its proposals
    return items


def _break_position(themed_session: ThemedSession, items: list[AgendaItem]) -> int:
    """Where ISHOMA goes in the template: the boundary between items whose time is nearest to noon.

    Candidates run from after the remarks to before the agreement on priorities (never inside the
    opening, nor between the agreement and the signing). On a tie the earlier boundary wins;
    without a meeting start the break follows the presentations, before the deliberation.
    """
    first = next(i for i, item in enumerate(items) if item.kind is AgendaKind.REMARKS) + 1
    last = next(i for i, item in enumerate(items) if item.kind is AgendaKind.AGREEMENT)
    if themed_session.meeting_start is None:
        return next(i for i, item in enumerate(items) if item.kind is AgendaKind.DELIBERATION)
    start = to_user_timezone(themed_session.meeting_start).replace(tzinfo=None)
    noon = datetime.combine(start.date(), NOON)
    boundaries, clock = [], start
    for index, item in enumerate(items):
        if first <= index <= last:
            boundaries.append((abs((clock - noon).total_seconds()), index))
        clock += timedelta(minutes=item.duration_minutes)
    return min(boundaries)[1]


def _audit(event: str, themed_session: ThemedSession, actor: Actor, **kwargs) -> None:
    record(event, actor, themed_session, object_type="ThemedSession", **kwargs)


def check_not_frozen(themed_session: ThemedSession) -> None:
    """Refuse a change to what the minutes print once the session is finalised.

    The minutes are printed from the live agenda, roster, attendance and settings, and have no
    versions; changing them afterwards would alter a signed record without a reason. The session
    row is locked first (as a finalisation locks it), so no change lands after one has committed.
    """
    from participation.review.services import lock_session

    lock_session(themed_session)
    if themed_session.meeting_record_is_frozen:
        raise DocumentsError("finalized")


def update_settings(themed_session: ThemedSession, data: dict, actor: Actor) -> None:
    """The meeting's details as the documents print them: time, notes, the letter's head, signatories.

    Raises ValueError for a name that is not a setting or a value no form would send (an unknown
    sifat, a NIP that is not 18 digits): the web form refuses these first, other callers get told.
    """
    from participation.validation import check_nip, normalize_nip

    check_not_frozen(themed_session)
    before = {name: getattr(themed_session, name) for name in data}
    for name, value in data.items():
        if name not in SETTINGS_FIELDS:
            raise ValueError(f"{name} is not a document setting")
        if name == "letter_nature":
            value = LetterNature(value)
        elif name == "letter_attachments":
            value = value or 0
            if not 0 <= value <= 99:
                raise ValueError("letter_attachments must be 0 to 99")
        elif name == "signatory_nip":
            value = normalize_nip(value or "")
            if check_nip(value):
                raise ValueError("signatory_nip must be 18 digits")
        elif name == "letter_date" and value is not None and not isinstance(value, date):
            raise ValueError("letter_date must be a date")
        setattr(themed_session, name, value)
    _audit("documents.settings", themed_session, actor, before=_plain(before),
           after=_plain({name: getattr(themed_session, name) for name in data}))


def _plain(values: dict) -> dict:
    """JSON-ready audit values (dates and times as ISO text, enums as their codes)."""
    def plain(value):
        if isinstance(value, (datetime, date)):
            return value.isoformat()
        return value.value if isinstance(value, enum.Enum) else value

    return {name: plain(value) for name, value in values.items()}


def build_agenda(themed_session: ThemedSession, ranking, actor: Actor) -> list[AgendaItem]:
    """Replace the stored agenda with the template's, which the facilitator then edits."""
    check_not_frozen(themed_session)
    items = _lay_out(themed_session, ranking)
    _audit("agenda.built", themed_session, actor, after={"items": len(items)})
    return items


def _lay_out(themed_session: ThemedSession, ranking) -> list[AgendaItem]:
    themed_session.agenda.clear()
    db.session.flush()
    items = default_agenda(themed_session, ranking)
    themed_session.agenda.extend(items)
    db.session.flush()
    return items


def unscheduled(themed_session: ThemedSession, ranking) -> int:
    """Proposals whose category has no presentation block in the stored agenda."""
    if not themed_session.agenda:
        return 0
    blocks = {item.category_id for item in themed_session.agenda if item.kind is AgendaKind.PRESENTATION}
    return sum(len(items) for category_id, items in presentation_groups(ranking).items() if category_id not in blocks)


def schedule(themed_session: ThemedSession, ranking) -> list[ScheduledItem]:
    """Time slots from the meeting start; a presentation block lasts its proposals × minutes each.

    Until the facilitator lays out an agenda of their own, the template's (unsaved) is scheduled.
    """
    groups = presentation_groups(ranking)
    start = to_user_timezone(themed_session.meeting_start).replace(tzinfo=None) if themed_session.meeting_start else None
    slots = []
    for item in list(themed_session.agenda) or default_agenda(themed_session, ranking):
        proposals = groups.get(item.category_id, []) if item.kind is AgendaKind.PRESENTATION else []
        minutes = (len(proposals) * themed_session.minutes_per_proposal if item.kind is AgendaKind.PRESENTATION
                   else item.duration_minutes)
        end = start + timedelta(minutes=minutes) if start else None
        slots.append(ScheduledItem(item=item, start=start, end=end, minutes=minutes, proposals=proposals))
        start = end
    return slots


def update_agenda(themed_session: ThemedSession, values: dict[int, dict], actor: Actor) -> None:
    """Save the edited items of the stored agenda ({item id: {field: value}})."""
    check_not_frozen(themed_session)
    for item in themed_session.agenda:
        for name, value in values[item.id].items():
            setattr(item, name, value)
    _audit("agenda.updated", themed_session, actor, after={str(k): v for k, v in values.items()})


def add_agenda_item(themed_session: ThemedSession, ranking, title: str, minutes: int, actor: Actor,
                    description: str = "") -> AgendaItem:
    """Add an item of kind `other` before the closing; with no agenda yet, lay out the template (`ranking`) first."""
    check_not_frozen(themed_session)
    if not themed_session.agenda:
        _lay_out(themed_session, ranking)
    items = themed_session.agenda
    position = next((i for i in range(len(items) - 1, -1, -1) if items[i].kind is AgendaKind.CLOSING), len(items))
    item = AgendaItem(kind=AgendaKind.OTHER, title=title, duration_minutes=minutes, description=description)
    items.insert(position, item)
    for number, other in enumerate(items):
        other.position = number
    db.session.flush()
    _audit("agenda.item_added", themed_session, actor, after={"title": item.title, "minutes": item.duration_minutes})
    return item


def move_agenda_item(themed_session: ThemedSession, item: AgendaItem, step: int, actor: Actor) -> tuple[int, int]:
    """Move an item one place up (-1) or down (+1); returns its (before, after) index."""
    from participation.sessions.services import move

    check_not_frozen(themed_session)
    before, after = move(themed_session.agenda, item, step)
    if before != after:
        _audit("agenda.item_moved", themed_session, actor, before={"title": item.title, "position": before},
               after={"title": item.title, "position": after})
    return before, after


def remove_agenda_item(themed_session: ThemedSession, item: AgendaItem, actor: Actor) -> None:
    """Take an item off the agenda and close the gap in the positions."""
    check_not_frozen(themed_session)
    themed_session.agenda.remove(item)
    for position, other in enumerate(themed_session.agenda):
        other.position = position
    _audit("agenda.item_removed", themed_session, actor, before={"title": item.title})


def check_in(invitation: Invitation, attended: bool, actor: Actor, *, at: datetime | None = None) -> None:
    """Mark a business as present at the meeting (or undo a mistaken check-in).

    `at` is when it arrived, when that is entered afterwards (from the signed paper list);
    a check-in at the door is now.
    """
    check_not_frozen(invitation.themed_session)
    invitation.attended = attended
    invitation.checked_in_at = (at or utcnow()) if attended else None
    _audit("checkin.marked", invitation.themed_session, actor,
           after={"business_id": invitation.business_id, "attended": invitation.attended})


def register_walk_in(themed_session: ThemedSession, data: dict, actor: Actor) -> Invitation:
    """A business that came without an invitation: matched by NIB and name, or created; present.

    Raises intake's OwnedBusinessMatch when the only match has an account and nobody confirmed it.
    """
    check_not_frozen(themed_session)
    match = find_or_create_business(data, themed_session, actor)  # holds the NIB's lock until commit
    business = match.business
    add_invitations(themed_session, [business.id], actor, walk_in=True)
    invitation = db.session.scalar(select(Invitation).where(Invitation.session_id == themed_session.id,
                                                            Invitation.business_id == business.id))
    invitation.attended, invitation.checked_in_at = True, utcnow()
    db.session.flush()
    _audit("checkin.walk_in", themed_session, actor, after=match.note())
    return invitation


def letterhead() -> Letterhead:
    """The stored letterhead, or one made from the configuration (not saved)."""
    stored = db.session.scalar(select(Letterhead).order_by(Letterhead.id).limit(1))
    return stored or Letterhead(institution_name=current_app.config["INSTITUTION_NAME"], address="", contact="")


class LogoRefused(ValueError):
    """The upload is not a usable PNG or JPEG image."""


LOGO_MAX_PIXELS = 40_000_000  # a larger picture is refused before it is decoded
LOGO_SIZE = (480, 480)  # enough for 48 pt at print resolution


def prepare_logo(data: bytes) -> tuple[bytes, str]:
    """Decode an uploaded PNG or JPEG, shrink it to letterhead size and store it as PNG."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        # WeasyPrint sets PIL's LOAD_TRUNCATED_IMAGES for the whole process; verify() still reads
        # every chunk, so a cut-off upload is refused rather than stored half grey.
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ("PNG", "JPEG"):
                raise LogoRefused("format")
            if image.width * image.height > LOGO_MAX_PIXELS:
                raise LogoRefused("size")
            image.thumbnail(LOGO_SIZE)
            buffer = io.BytesIO()
            image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB").save(buffer, format="PNG",
                                                                                      optimize=True)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError, ValueError) as error:
        if isinstance(error, LogoRefused):
            raise
        raise LogoRefused("decode") from None
    return buffer.getvalue(), "image/png"


def save_letterhead(data: dict, logo: tuple[bytes, str] | None, remove_logo: bool, actor: Actor) -> Letterhead:
    """Update the single letterhead row (creating it the first time)."""
    stored = db.session.scalar(select(Letterhead).order_by(Letterhead.id).limit(1))
    if stored is None:
        stored = Letterhead()
        db.session.add(stored)
    stored.institution_name, stored.address, stored.contact = data["institution_name"], data["address"], data["contact"]
    if logo is not None:
        stored.logo, stored.logo_type = logo
    elif remove_logo:
        stored.logo, stored.logo_type = None, None
    db.session.flush()
    record("letterhead.updated", actor, stored,
           after={"institution_name": stored.institution_name, "logo": bool(stored.logo)})
    return stored
