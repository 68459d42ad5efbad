"""The public results of one finalised session as cards: what each proposal scored, why, and the decision."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from participation.extensions import db
from participation.i18n import criterion_value
from participation.models import FinalStanding, Proposal, RankingSnapshot

QUERY_LENGTH = 100  # longer than any receipt number, business or kecamatan name people type


@dataclass(frozen=True)
class ResultCard:
    """One proposal of the final ranking as the public reads it: no NIB, phone or attachment."""

    line: dict  # the snapshot's export line (DESIGN §7)
    kecamatan: str
    standing: FinalStanding | None
    reason: str  # the decision's reason, "" when no decision was recorded
    parts: list[dict]  # per criterion: name, weight, value (formatted) and contribution

    def matches(self, query: str) -> bool:
        """Whether the receipt number, the business or the kecamatan contains `query` (any case)."""
        needle = query.casefold()
        return any(needle in (text or "").casefold()
                   for text in (self.line["receipt_number"], self.line["business"], self.kecamatan))


def result_cards(snapshot: RankingSnapshot, query: str = "", funded_only: bool = False) -> list[ResultCard]:
    """The snapshot's proposals in its order (by rank, the unranked last), filtered by `query` and funding.

    Kecamatan and the decision's reason are read from the proposals (one query): the snapshot keeps
    the figures, the reason may have been corrected since only with a new snapshot version.
    """
    payload = snapshot.payload["export"]
    receipts = [line["receipt_number"] for line in payload["proposals"]]
    proposals = {proposal.receipt_number: proposal for proposal in db.session.scalars(
        select(Proposal).where(Proposal.session_id == snapshot.session_id, Proposal.receipt_number.in_(receipts))
        .options(selectinload(Proposal.decision)))}
    contributions = snapshot.payload.get("contributions", {})
    cards = []
    for line in payload["proposals"]:
        proposal = proposals.get(line["receipt_number"])
        parts = [{"name": criterion["name"], "weight": criterion["weight"],
                  "value": criterion_value(criterion["source"], line["values"].get(criterion["key"])),
                  "contribution": contributions.get(line["receipt_number"], {}).get(criterion["key"], 0.0)}
                 for criterion in payload["criteria"]] if line["rank"] else []
        card = ResultCard(line=line, kecamatan=(proposal.kecamatan if proposal else "") or "",
                          standing=FinalStanding.of_line(line),
                          reason=proposal.decision.reason if proposal and proposal.decision else "", parts=parts)
        if query and not card.matches(query):
            continue
        if funded_only and not (card.standing and card.standing.is_funded):
            continue
        cards.append(card)
    return cards
