"""Free-text places entered before CITY_CODE was set: matched to the city's Kemendagri list, or flagged.

`flask match-places` lists what matches and what does not; with `--apply` it stores the matched
kelurahan codes (and the list's spelling of the names) and records `places.matched`. What does not
match stays as typed and is shown to staff on the business's pages until someone corrects it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import click
from flask.cli import with_appcontext
from flask_babel import gettext as _
from sqlalchemy import or_, select

from participation import events
from participation.events import Actor
from participation.extensions import db
from participation.models import Business, Proposal
from participation.places import current_city
from participation.validation import PlaceProblem, official_place


@dataclass(frozen=True)
class PlaceRow:
    """One stored place: whose (business or proposal, id, label), as typed, and what the list says."""

    kind: str
    id: int
    label: str
    kelurahan: str
    kecamatan: str
    code: str | None = None
    problem: str | None = None


@dataclass
class PlaceMatchReport:
    matched: list[PlaceRow] = field(default_factory=list)
    unmatched: list[PlaceRow] = field(default_factory=list)


def place_problem(city, kelurahan: str, kecamatan: str, code: str | None) -> str | None:
    """Why a stored place is not one of the city's list (None when it is, or without a city)."""
    if city is None or (code and city.by_code(code)) or not (kelurahan or kecamatan):
        return None  # a blank place (a draft, a check-in at the door) is plain to see
    try:
        official_place(city, kelurahan, kecamatan)
    except PlaceProblem as problem:
        return problem.message
    return _("Not yet matched to the Kemendagri list.")


def stored_place_problem(obj) -> str | None:
    """`place_problem` for a business or proposal, for the staff's and owner's pages."""
    return place_problem(current_city(), obj.kelurahan or "", obj.kecamatan or "", obj.kelurahan_code)


def _candidates(model):
    """Rows without a code of the city's list (free text, or a code of another city), by id."""
    return db.session.scalars(select(model).where(
        or_(model.kelurahan_code.is_(None), ~model.kelurahan_code.startswith(current_city().code + ".")),
        or_(model.kelurahan != "", model.kecamatan != "")).order_by(model.id)).all()


def match_places(actor: Actor, *, apply: bool = False) -> PlaceMatchReport:
    """Match every business's and proposal's free-text place to the city's list; store the codes when `apply`.

    Ordered by kind (businesses, then proposals) and id. Audited as `places.matched` when it stored any.
    """
    city = current_city()
    if city is None:
        raise RuntimeError("CITY_CODE is not set")
    report = PlaceMatchReport()
    for kind, model in (("business", Business), ("proposal", Proposal)):
        for row in _candidates(model):
            label = row.name if kind == "business" else (row.receipt_number or f"#{row.id}")
            try:
                place = official_place(city, row.kelurahan, row.kecamatan)
            except PlaceProblem as problem:
                report.unmatched.append(PlaceRow(kind, row.id, label, row.kelurahan, row.kecamatan,
                                                 problem=problem.message))
                continue
            report.matched.append(PlaceRow(kind, row.id, label, row.kelurahan, row.kecamatan, place.kelurahan_code))
            if apply:
                row.kelurahan, row.kecamatan, row.kelurahan_code = place.kelurahan, place.kecamatan, place.kelurahan_code
    if apply and report.matched:
        db.session.flush()
        events.record("places.matched", actor, after={
            "city_code": city.code,
            "businesses": sum(1 for row in report.matched if row.kind == "business"),
            "proposals": sum(1 for row in report.matched if row.kind == "proposal"),
            "unmatched": len(report.unmatched)})
    return report


@click.command("match-places")
@click.option("--apply", "apply_", is_flag=True, help="Store the matched codes (without it nothing is changed).")
@with_appcontext
def match_places_command(apply_: bool) -> None:
    """Match free-text kelurahan/kecamatan to the CITY_CODE list; list what does not match."""
    if current_city() is None:
        raise click.ClickException("CITY_CODE is not set: places are free text, nothing to match")
    report = match_places(Actor.cli(), apply=apply_)
    db.session.commit()
    for row in report.matched:
        click.echo(f"{'matched' if apply_ else 'matches'}\t{row.kind} {row.id}\t{row.label}\t"
                   f"{row.kelurahan}, {row.kecamatan}\t{row.code}")
    for row in report.unmatched:
        click.echo(f"no match\t{row.kind} {row.id}\t{row.label}\t{row.kelurahan}, {row.kecamatan}\t{row.problem}")
    verb = "stored" if apply_ else "would be stored (run with --apply)"
    click.echo(f"{len(report.matched)} places match the list of {current_city().name} and {verb}; "
               f"{len(report.unmatched)} do not match and are shown to staff.")
