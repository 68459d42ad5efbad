"""Proposals (usulan), their status history and the receipt-number counter."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.extensions import db
from participation.models.base import LabelledEnum, enum_column, table_args, utcnow
from participation.models.user import Role, User

if TYPE_CHECKING:
    from participation.models.business import Business
    from participation.models.files import StoredFile
    from participation.models.review import Decision, FinalStanding
    from participation.models.session import Category, ThemedSession

RECEIPT_PREFIX = "MT"


class ProposalStatus(LabelledEnum):
    """draft → submitted ⇄ withdrawn: a withdrawn proposal may go in again while the window is open."""

    DRAFT = "draft", _l("Draft"), "secondary"
    SUBMITTED = "submitted", _l("Submitted"), "success"
    WITHDRAWN = "withdrawn", _l("Withdrawn"), "secondary"


class ProposalSource(LabelledEnum):
    """How the proposal reached the platform."""

    ONLINE = "online", _l("Online")
    PAPER = "paper", _l("Paper form")
    IMPORT = "import", _l("Imported file")


class Proposal(db.Model):
    """A business's proposal to a themed session."""

    __tablename__ = "proposals"
    __table_args__ = table_args(
        sa.CheckConstraint("estimated_cost >= 0", name="cost_non_negative"),
        sa.CheckConstraint("beneficiaries >= 0", name="beneficiaries_non_negative"),
        sa.CheckConstraint("jobs_created >= 0", name="jobs_non_negative"),
        # A draft may leave its numbers unset; once submitted (or withdrawn) a proposal has all three.
        sa.CheckConstraint("status = 'draft' OR (estimated_cost IS NOT NULL AND beneficiaries IS NOT NULL "
                           "AND jobs_created IS NOT NULL)", name="numbers_given_when_submitted"),
        sa.Index("ix_proposals_session_id_status", "session_id", "status"),
        # A paper form is entered once per session (NULLs, i.e. online proposals, do not clash).
        sa.UniqueConstraint("session_id", "paper_form_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("themed_sessions.id"))
    business_id: Mapped[int] = mapped_column(sa.ForeignKey("businesses.id"), index=True)
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    receipt_number: Mapped[str | None] = mapped_column(sa.String(20), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    problem: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    description: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    category_id: Mapped[int | None] = mapped_column(sa.ForeignKey("categories.id", ondelete="SET NULL"))
    # NULL while a draft leaves them unset ("–" on its page); a submitted proposal always has them
    # (0 beneficiaries or new jobs is a real answer, a cost is above 0). Migration 0019.
    estimated_cost: Mapped[int | None] = mapped_column(sa.BigInteger)
    beneficiaries: Mapped[int | None]
    jobs_created: Mapped[int | None]
    kelurahan: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    kecamatan: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    kelurahan_code: Mapped[str | None] = mapped_column(sa.String(13))  # as Business.kelurahan_code
    # What the money buys, as SIPD records it: 20 (volume) paket (satuan). Optional; a volume is
    # above 0 (no CHECK: adding one would rebuild proposals on SQLite; the form and service check it).
    volume: Mapped[float | None] = mapped_column(sa.Float)
    satuan: Mapped[str] = mapped_column(sa.String(50), default="", server_default="")
    # A planner's per-proposal SIPD codes (DESIGN §10); None means the category's default.
    kode_skpd: Mapped[str | None] = mapped_column(sa.String(22))
    nama_skpd: Mapped[str | None] = mapped_column(sa.String(200))
    kode_sub_giat: Mapped[str | None] = mapped_column(sa.String(17))
    giat_teks: Mapped[str | None] = mapped_column(sa.String(300))
    source: Mapped[ProposalSource] = mapped_column(
        enum_column(ProposalSource, "proposal_source"), default=ProposalSource.ONLINE, server_default="online")
    paper_form_number: Mapped[str | None] = mapped_column(sa.String(30))
    status: Mapped[ProposalStatus] = mapped_column(
        enum_column(ProposalStatus, "proposal_status"), default=ProposalStatus.DRAFT, server_default="draft")
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # Set when another proposal of the same business in the session has a similar title.
    near_duplicate_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("proposals.id", ondelete="SET NULL"))
    # Set while a planner has merged this proposal into a joint one (`joint_of`): it leaves the
    # ranking, the joint proposal is ranked in its place; undoing the merge clears it. Migration 0026.
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("proposals.id"))
    # Participants' votes at the meeting (the `votes` criterion); 0 until recorded.
    votes: Mapped[int] = mapped_column(default=0, server_default="0")
    votes_recorded_at: Mapped[datetime | None]
    # Set by a planner: the proposal is funded whatever its rank, for this reason. Migration 0025.
    must_fund_reason: Mapped[str | None] = mapped_column(sa.String(500))
    # The attached file (PDF, JPEG or PNG) lives in the database; the name, type and size are shown.
    attachment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))
    attachment_name: Mapped[str | None] = mapped_column(sa.String(200))
    attachment_type: Mapped[str | None] = mapped_column(sa.String(40))
    attachment_size: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None]

    themed_session: Mapped[ThemedSession] = relationship()
    business: Mapped[Business] = relationship()
    category: Mapped[Category | None] = relationship()
    submitted_by: Mapped[User | None] = relationship()
    history: Mapped[list[ProposalStatusChange]] = relationship(
        back_populates="proposal", order_by="ProposalStatusChange.id", cascade="all, delete-orphan")
    near_duplicate_of: Mapped[Proposal | None] = relationship(remote_side=[id], foreign_keys=[near_duplicate_of_id])
    merged_into: Mapped[Proposal | None] = relationship(remote_side=[id], foreign_keys=[merged_into_id],
                                                        back_populates="merged_originals")
    merged_originals: Mapped[list[Proposal]] = relationship(foreign_keys=[merged_into_id],
                                                            back_populates="merged_into", order_by="Proposal.id")
    # A joint proposal's co-proposers: one row per original merged into it (kept after an undo).
    co_proposers: Mapped[list[ProposalCoProposer]] = relationship(
        foreign_keys="ProposalCoProposer.proposal_id", back_populates="proposal",
        order_by="ProposalCoProposer.id", cascade="all, delete-orphan")
    # Replacing the attachment or deleting the proposal deletes the old file in the same transaction.
    attachment_file: Mapped[StoredFile | None] = relationship(cascade="all, delete-orphan", single_parent=True)
    decision: Mapped[Decision | None] = relationship(back_populates="proposal", uselist=False,
                                                     cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<Proposal {self.id} {self.receipt_number or 'draft'}>"

    @property
    def is_joint(self) -> bool:
        """Made by a planner from near-duplicate proposals of several businesses (see review/joint.py)."""
        return bool(self.co_proposers)

    @property
    def is_merged(self) -> bool:
        """Merged into a joint proposal: kept, but out of the ranking."""
        return self.merged_into_id is not None

    def is_co_proposed_by(self, user) -> bool:
        """Whether `user` owns one of the businesses of a joint proposal's originals."""
        if not (user.is_authenticated and user.role is Role.PROPONENT and user.business is not None):
            return False
        return any(row.business_id == user.business.id for row in self.co_proposers)

    def is_owned_by(self, user) -> bool:
        """Whether `user` is the business owner behind this proposal."""
        return (user.is_authenticated and user.role is Role.PROPONENT
                and user.business is not None and user.business.id == self.business_id)

    @property
    def sipd_opd(self) -> tuple[str, str]:
        """(kode_skpd, nama_skpd): the planner's override when either is given, else the category's default."""
        if self.kode_skpd or self.nama_skpd:
            return self.kode_skpd or "", self.nama_skpd or ""
        return (self.category.kode_skpd, self.category.nama_skpd) if self.category else ("", "")

    @property
    def sipd_sub_activity(self) -> tuple[str, str]:
        """(kode_sub_giat, giat_teks): the planner's override when either is given, else the category's default."""
        if self.kode_sub_giat or self.giat_teks:
            return self.kode_sub_giat or "", self.giat_teks or ""
        return (self.category.kode_sub_giat, self.category.giat_teks) if self.category else ("", "")

    @property
    def is_draft(self) -> bool:
        """Not submitted yet: the owner may still submit it or delete it."""
        return self.status is ProposalStatus.DRAFT

    @property
    def is_submitted(self) -> bool:
        """Submitted and not withdrawn: it is ranked (a joint proposal: in place of its originals)."""
        return self.status is ProposalStatus.SUBMITTED

    @property
    def is_withdrawn(self) -> bool:
        """Withdrawn by its owner (or, for a joint proposal, its merge undone)."""
        return self.status is ProposalStatus.WITHDRAWN

    def can_view(self, user) -> bool:
        """The owner, and the session's planners and facilitators (and admins)."""
        return self.is_owned_by(user) or self.is_co_proposed_by(user) or self.themed_session.can_facilitate(user)

    def owner_change_refusal(self) -> str | None:
        """Why its owner may not edit, submit or withdraw it now (None when they may).

        "withdrawn": it is out of the session until it is submitted again (see
        `resubmit_refusal`); "closed": the window is shut; "not_invited": the session takes
        only invited businesses and this one is not (or no longer) on its roster. The services
        ask this at the moment of the change, so a form opened earlier cannot slip past it.
        """
        if self.is_merged:
            return "merged"
        if self.is_joint:
            return "joint"
        if self.status is ProposalStatus.WITHDRAWN:
            return "withdrawn"
        return self._window_refusal()

    def _window_refusal(self) -> str | None:
        if not self.themed_session.accepts_submissions:
            return "closed"
        if not self.themed_session.admits(self.business):
            return "not_invited"
        return None

    def resubmit_refusal(self) -> str | None:
        """Why its owner may not submit this withdrawn proposal again now (None when they may).

        "not_withdrawn": only a withdrawn proposal goes in again; otherwise the same window and
        roster rules as an edit. The per-business limit is the service's to check (it counts).
        """
        if self.is_joint:
            return "joint"
        if self.status is not ProposalStatus.WITHDRAWN:
            return "not_withdrawn"
        return self._window_refusal()

    def can_resubmit(self, user) -> bool:
        """The owner may submit a withdrawn proposal again while the window is open."""
        return self.is_owned_by(user) and self.resubmit_refusal() is None

    @property
    def has_receipt(self) -> bool:
        """A submitted proposal has a receipt (tanda terima) to print; a withdrawn one no longer does."""
        return self.status is ProposalStatus.SUBMITTED and self.receipt_number is not None

    def can_print_receipt(self, user) -> bool:
        """Its owner and the session's staff print the receipt of a submitted proposal."""
        return self.has_receipt and self.can_view(user)

    @property
    def final_standing(self) -> FinalStanding | None:
        """Where it stands in the latest version of its session's final ranking (None before finalisation)."""
        snapshots = self.themed_session.published_snapshots() if self.receipt_number else []
        return snapshots[-1].standing_of(self.receipt_number) if snapshots else None

    @property
    def badge(self):
        """What the owner's badge says: the final standing once there is one, otherwise the status."""
        if self.status is ProposalStatus.SUBMITTED:
            standing = self.final_standing
            if standing is not None:
                return standing
        return self.status

    def timeline(self) -> list[HistoryEntry]:
        """The status history, then each version of the final ranking that changed where it stands."""
        from flask_babel import gettext as _

        entries = [HistoryEntry(change.created_at, change.to_status, change.note) for change in self.history]
        if self.status is not ProposalStatus.SUBMITTED:
            return entries
        previous = None
        for snapshot in self.themed_session.published_snapshots():
            standing = snapshot.standing_of(self.receipt_number)
            if standing is None or standing is previous:
                continue
            note = (_("final ranking") if snapshot.version == 1
                    else _("ranking corrected, version %(version)d", version=snapshot.version))
            entries.append(HistoryEntry(snapshot.created_at, standing, note))
            previous = standing
        return entries

    @property
    def shut_out_by_invitation(self) -> bool:
        """Its owner may not change it only because the session takes invited businesses alone."""
        return self.owner_change_refusal() == "not_invited"

    def can_edit(self, user) -> bool:
        """The owner, while the window is open, the session admits the business and it is not withdrawn."""
        return self.is_owned_by(user) and self.owner_change_refusal() is None

    def can_withdraw(self, user) -> bool:
        """The owner may withdraw a submitted proposal while they may edit it."""
        return self.can_edit(user) and self.status is ProposalStatus.SUBMITTED

    def can_delete(self, user) -> bool:
        """The owner may delete a draft at any time: it was never part of the session's proposals."""
        return self.is_owned_by(user) and self.status is ProposalStatus.DRAFT

    def can_decide(self, user) -> bool:
        """A submitted proposal is decided on by its session's managers (see ThemedSession.can_decide)."""
        return self.status is ProposalStatus.SUBMITTED and self.themed_session.can_decide(user)

    def can_download_attachment(self, user) -> bool:
        """Only the owner and the session's own planners and facilitators; anyone else gets 404.

        Narrower than `can_view`: an admin who is not on the session's team reads the proposal
        but not the documents a business attached to it.
        """
        if self.attachment_id is None or not user.is_authenticated:
            return False
        if self.is_owned_by(user):
            return True
        return user.role in (Role.PLANNER, Role.FACILITATOR) and self.themed_session.is_member(user)


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a proposal's history as its owner reads it: when, what it became, a note."""

    at: datetime
    state: object  # a ProposalStatus, or a FinalStanding once the session is finalised
    note: str = ""


class ProposalStatusChange(db.Model):
    """One step in a proposal's status history."""

    __tablename__ = "proposal_status_changes"
    __table_args__ = table_args()

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[ProposalStatus | None] = mapped_column(enum_column(ProposalStatus, "from_status"))
    to_status: Mapped[ProposalStatus] = mapped_column(enum_column(ProposalStatus, "to_status"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    proposal: Mapped[Proposal] = relationship(back_populates="history")
    actor: Mapped[User | None] = relationship()


class ProposalCoProposer(db.Model):
    """A joint proposal × one of its originals and that original's business (the co-proposer)."""

    __tablename__ = "proposal_co_proposers"
    __table_args__ = table_args(sa.UniqueConstraint("proposal_id", "original_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    original_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    business_id: Mapped[int] = mapped_column(sa.ForeignKey("businesses.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    proposal: Mapped[Proposal] = relationship(foreign_keys=[proposal_id], back_populates="co_proposers")
    original: Mapped[Proposal] = relationship(foreign_keys=[original_id])
    business: Mapped[Business] = relationship()


class DismissedCluster(db.Model):
    """Near-duplicate proposals a planner said are not one proposal: not suggested together again.

    `proposal_ids` lists the cluster's ids ascending, comma-separated; a later cluster made only of
    these proposals is hidden, one with a new member is suggested again.
    """

    __tablename__ = "dismissed_clusters"
    __table_args__ = table_args()

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("themed_sessions.id", ondelete="CASCADE"), index=True)
    proposal_ids: Mapped[str] = mapped_column(sa.Text)
    dismissed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    dismissed_by: Mapped[User | None] = relationship()

    @property
    def ids(self) -> frozenset[int]:
        return frozenset(int(part) for part in self.proposal_ids.split(",") if part)


class ReceiptCounter(db.Model):
    """The last receipt number given out per prefix and fiscal year (one row each)."""

    __tablename__ = "receipt_counters"

    scope: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    last_value: Mapped[int] = mapped_column(default=0)
