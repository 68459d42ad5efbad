"""Themed sessions with their categories, criteria, staff and invitations."""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, NamedTuple

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from participation.extensions import db
from participation.models.base import LabelledEnum, enum_column, table_args, utcnow
from participation.models.user import Role, User

if TYPE_CHECKING:
    from participation.models.business import Business
    from participation.models.documents import AgendaItem
    from participation.models.review import RankingSnapshot


class SessionStatus(LabelledEnum):
    """The life of a session: draft → open → review → finalized (→ archived)."""

    DRAFT = "draft", _l("Draft"), "secondary"
    OPEN = "open", _l("Open for proposals"), "success"
    REVIEW = "review", _l("Under review"), "warning"
    FINALIZED = "finalized", _l("Finalized"), "primary"
    ARCHIVED = "archived", _l("Archived"), "dark"


# The final ranking of a finalized or archived session is published (its latest snapshot).
PUBLISHED_STATUSES = (SessionStatus.FINALIZED, SessionStatus.ARCHIVED)
# Facilitators type in paper proposals while owners submit and while the planners review.
PAPER_INTAKE_STATUSES = (SessionStatus.OPEN, SessionStatus.REVIEW)
# Planners rate and facilitators record votes while the proposals come in and under review;
# after finalisation a rating may still be corrected (with a reason), votes no longer change.
RATING_STATUSES = (SessionStatus.OPEN, SessionStatus.REVIEW)


class ScoringMethod(LabelledEnum):
    """How proposals are scored (DESIGN §5)."""

    SAW = "saw", _l("Simple additive weighting (SAW)")
    TOPSIS = "topsis", _l("TOPSIS")

    @property
    def uses_normalization(self) -> bool:
        """Only SAW reads the session's normalisation; TOPSIS always normalises by vector length."""
        return self is ScoringMethod.SAW

    @property
    def is_additive(self) -> bool:
        """A SAW score is the sum of its criteria's parts; a TOPSIS score is a closeness, not a sum."""
        return self is ScoringMethod.SAW


class Normalization(LabelledEnum):
    """How SAW normalises each criterion."""

    MINMAX = "minmax", _l("Min–max")
    MAX = "max", _l("Divide by the maximum")


class SelectionMethod(LabelledEnum):
    """How the funded set is chosen within the budget ceiling."""

    GREEDY = "greedy", _l("Best first, while the budget lasts")
    OPTIMAL = "optimal", _l("Largest total score within the budget")


class RatingAggregation(LabelledEnum):
    """How the planners' ratings of a proposal and criterion become one value (DESIGN §5)."""

    MEAN = "mean", _l("Mean of the planners' ratings")
    MEDIAN = "median", _l("Median of the planners' ratings")
    STANDARDIZED = "standardized", _l("Standardised: corrects lenient and strict planners")


class WeightsOrigin(LabelledEnum):
    """Where a session's current weights came from."""

    MANUAL = "manual", _l("Typed in")
    AHP = "ahp", _l("AHP pairwise comparison")


class CriterionSource(LabelledEnum):
    """Where a criterion's values come from (DESIGN §3)."""

    RATING = "rating", _l("Planners' rating")
    VOTES = "votes", _l("Participants' votes")
    ESTIMATED_COST = "estimated_cost", _l("Proposal field: estimated cost")
    BENEFICIARIES = "beneficiaries", _l("Proposal field: beneficiaries")
    JOBS_CREATED = "jobs_created", _l("Proposal field: new jobs")

    @property
    def is_field(self) -> bool:
        """True for sources read from the proposal itself."""
        return self in FIELD_SOURCES

    @property
    def is_rating(self) -> bool:
        """Planners rate the criterion on its scale."""
        return self is CriterionSource.RATING


FIELD_SOURCES = {CriterionSource.ESTIMATED_COST, CriterionSource.BENEFICIARIES, CriterionSource.JOBS_CREATED}


class LetterNature(LabelledEnum):
    """The sifat of an official letter (tata naskah dinas): how urgently it is to be handled."""

    ORDINARY = "biasa", _l("Ordinary")
    IMPORTANT = "penting", _l("Important")
    URGENT = "segera", _l("Urgent")
    VERY_URGENT = "sangat_segera", _l("Very urgent")



# The kinds of spending (jenis belanja, Permendagri 77/2020) a category's proposals are carried
# into SIPD as; goods and services fits most support for small businesses.
SPENDING_KINDS = ("Belanja Barang dan Jasa", "Belanja Modal", "Belanja Hibah", "Belanja Bantuan Sosial")
DEFAULT_SPENDING_KIND = SPENDING_KINDS[0]


class Transition(NamedTuple):
    """A step of the life cycle that a planner takes with a button on the session page."""

    action: str  # what the button posts
    source: SessionStatus
    target: SessionStatus
    label: str  # the button's text
    style: str  # the button's Bootstrap variant: btn-<style>


# Transitions a planner may make; finalisation belongs to the review feature.
LIFE_CYCLE = (
    Transition("open", SessionStatus.DRAFT, SessionStatus.OPEN, _l("Open for proposals"), "success"),
    Transition("close", SessionStatus.OPEN, SessionStatus.REVIEW, _l("Close and start review"), "warning"),
    Transition("reopen", SessionStatus.REVIEW, SessionStatus.OPEN, _l("Reopen for proposals"), "outline-secondary"),
    Transition("archive", SessionStatus.FINALIZED, SessionStatus.ARCHIVED, _l("Archive"), "outline-secondary"),
)
# action -> (from, to), as the transition service checks a posted action.
TRANSITIONS = {transition.action: (transition.source, transition.target) for transition in LIFE_CYCLE}

session_members = sa.Table(
    "session_members",
    db.metadata,
    sa.Column("session_id", sa.ForeignKey("themed_sessions.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id"), primary_key=True),
)


class ThemedSession(db.Model):
    """A themed Musrenbang session (never called `Session`: that name is taken twice)."""

    __tablename__ = "themed_sessions"
    __table_args__ = table_args()

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    theme: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    description: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    venue: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    meeting_start: Mapped[datetime | None]
    submission_opens_at: Mapped[datetime | None]
    submission_closes_at: Mapped[datetime | None]
    fiscal_year: Mapped[int]
    budget_ceiling: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")
    max_proposals_per_business: Mapped[int] = mapped_column(default=3, server_default="3")
    invitation_only: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    paper_forms_printed: Mapped[int] = mapped_column(default=0, server_default="0")
    # The meeting's documents: time per presented proposal, what invitees bring, who signs.
    minutes_per_proposal: Mapped[int] = mapped_column(default=5, server_default="5")
    invitation_notes: Mapped[str] = mapped_column(sa.String(1000), default="", server_default="")
    chair_name: Mapped[str] = mapped_column(sa.String(120), default="", server_default="")
    secretary_name: Mapped[str] = mapped_column(sa.String(120), default="", server_default="")
    participant_representative: Mapped[str] = mapped_column(sa.String(120), default="", server_default="")
    # The invitation as an official letter (tata naskah dinas): its head, its date and who signs it.
    letter_number: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    letter_nature: Mapped[LetterNature] = mapped_column(
        # No CHECK: adding one would rebuild themed_sessions on SQLite; the form and service check it.
        enum_column(LetterNature, "letter_nature", check=False), default=LetterNature.ORDINARY,
        server_default="biasa")
    letter_attachments: Mapped[int] = mapped_column(default=0, server_default="0")
    letter_subject: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    letter_date: Mapped[date | None]
    signatory_name: Mapped[str] = mapped_column(sa.String(120), default="", server_default="")
    signatory_title: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    signatory_nip: Mapped[str] = mapped_column(sa.String(18), default="", server_default="")
    scoring_method: Mapped[ScoringMethod] = mapped_column(
        enum_column(ScoringMethod, "scoring_method"), default=ScoringMethod.SAW, server_default="saw")
    normalization: Mapped[Normalization] = mapped_column(
        enum_column(Normalization, "normalization"), default=Normalization.MINMAX, server_default="minmax")
    selection_method: Mapped[SelectionMethod] = mapped_column(
        enum_column(SelectionMethod, "selection_method"), default=SelectionMethod.GREEDY,
        server_default="greedy")
    # How ratings are combined, and how many planners must rate a proposal's criterion before it
    # is ranked (None: every planner of the session).
    rating_aggregation: Mapped[RatingAggregation] = mapped_column(
        # No CHECK: adding one would rebuild themed_sessions on SQLite; the form and service check it.
        enum_column(RatingAggregation, "rating_aggregation", check=False), default=RatingAggregation.MEAN,
        server_default="mean")
    min_raters: Mapped[int | None]
    # Where the current weights came from: typed in, or an AHP comparison (kept with its matrix).
    weights_origin: Mapped[WeightsOrigin] = mapped_column(
        # No CHECK: the column predates the enum, and adding one would rebuild the table on SQLite.
        enum_column(WeightsOrigin, "weights_origin", length=10, check=False), default=WeightsOrigin.MANUAL,
        server_default="manual")
    ahp_matrix: Mapped[list | None] = mapped_column(sa.JSON)
    ahp_cr: Mapped[float | None] = mapped_column(sa.Float)
    # Why weights from an inconsistent comparison (CR > 0.10) were applied anyway; None otherwise.
    ahp_override_reason: Mapped[str | None] = mapped_column(sa.String(500))
    status: Mapped[SessionStatus] = mapped_column(
        enum_column(SessionStatus, "session_status"), default=SessionStatus.DRAFT, server_default="draft")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    categories: Mapped[list[Category]] = relationship(
        back_populates="themed_session", order_by="Category.position", cascade="all, delete-orphan")
    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="themed_session", order_by="Criterion.position", cascade="all, delete-orphan")
    members: Mapped[list[User]] = relationship(secondary=session_members, order_by="User.name")
    invitations: Mapped[list[Invitation]] = relationship(
        back_populates="themed_session", cascade="all, delete-orphan")
    agenda: Mapped[list[AgendaItem]] = relationship(order_by="AgendaItem.position", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<ThemedSession {self.id} {self.status.value}>"

    @property
    def window_is_open(self) -> bool:
        """Whether now lies inside the submission window."""
        now = utcnow()
        return bool(self.submission_opens_at and self.submission_closes_at
                    and self.submission_opens_at <= now < self.submission_closes_at)

    @property
    def accepts_submissions(self) -> bool:
        """Owners may submit, edit and withdraw: the session is open and the window too."""
        return self.status is SessionStatus.OPEN and self.window_is_open

    @property
    def weights_from_ahp(self) -> bool:
        """The current weights are those of the stored AHP comparison."""
        return self.weights_origin is WeightsOrigin.AHP and self.ahp_matrix is not None

    @property
    def is_editable(self) -> bool:
        """Details, categories and criteria may change until review is finished."""
        return self.status in (SessionStatus.DRAFT, SessionStatus.OPEN, SessionStatus.REVIEW)

    @property
    def is_draft(self) -> bool:
        """Not opened yet: the page lists what still keeps it from opening."""
        return self.status is SessionStatus.DRAFT

    @property
    def can_add_or_remove_criteria(self) -> bool:
        """Criteria are added, removed or given another source only in a draft; proposals rely on them after."""
        return self.status is SessionStatus.DRAFT

    @hybrid_property
    def is_published(self) -> bool:
        """Finalized or archived: the final ranking is public (also usable in a query's WHERE)."""
        return self.status in PUBLISHED_STATUSES

    @is_published.inplace.expression
    @classmethod
    def _is_published_expression(cls):
        return cls.status.in_(PUBLISHED_STATUSES)

    def published_snapshots(self) -> list[RankingSnapshot]:
        """The final ranking's versions, oldest first, once the session is published (none before)."""
        from participation.models.review import RankingSnapshot

        if not self.is_published:
            return []
        return list(db.session.scalars(sa.select(RankingSnapshot).where(RankingSnapshot.session_id == self.id)
                                       .order_by(RankingSnapshot.version)))

    @property
    def changes_are_corrections(self) -> bool:
        """Once finalized, a changed rating or decision is a correction: it needs a reason and a new snapshot."""
        return self.status is SessionStatus.FINALIZED

    def available_transitions(self) -> list[Transition]:
        """The life-cycle steps the session can take from its current status, in LIFE_CYCLE order.

        Opening is offered even while `open_problems()` lists something: the service then
        refuses with the list, which the page shows above the buttons anyway.
        """
        return [transition for transition in LIFE_CYCLE if transition.source is self.status]

    def is_member(self, user) -> bool:
        """Whether `user` is one of this session's planners or facilitators."""
        return any(member.id == user.id for member in self.members)

    def can_manage(self, user) -> bool:
        """Planners of the session (and admins) edit it and move it through its life."""
        if not user.is_authenticated:
            return False
        return user.role is Role.ADMIN or (user.role is Role.PLANNER and self.is_member(user))

    def is_rater(self, user) -> bool:
        """The session's planners rate its proposals; an admin manages the session but does not rate."""
        return user.is_authenticated and user.role is Role.PLANNER and self.is_member(user)

    @property
    def planner_count(self) -> int:
        """How many planners the session's team has (they are its raters)."""
        return sum(1 for member in self.members if member.role is Role.PLANNER)

    @property
    def required_raters(self) -> int:
        """How many planners must rate a proposal's criterion before it counts: the setting, else all."""
        return self.min_raters if self.min_raters is not None else max(self.planner_count, 1)

    def can_decide(self, user) -> bool:
        """Managers record decisions under review, and correct them (with a reason) once finalized."""
        return self.can_manage(user) and self.status in (SessionStatus.REVIEW, SessionStatus.FINALIZED)

    def can_finalize(self, user) -> bool:
        """Managers fix the ranking as its first snapshot while the session is under review."""
        return self.can_manage(user) and self.status is SessionStatus.REVIEW

    def can_facilitate(self, user) -> bool:
        """The session's facilitators and planners (and admins) run the roster and paper intake."""
        if not user.is_authenticated:
            return False
        if user.role is Role.ADMIN:
            return True
        return user.role in (Role.PLANNER, Role.FACILITATOR) and self.is_member(user)

    def is_invited(self, business: Business | None) -> bool:
        """Whether `business` is on the invitation roster."""
        if business is None or business.id is None:
            return False
        return db.session.scalar(
            sa.select(sa.exists().where(Invitation.session_id == self.id,
                                        Invitation.business_id == business.id))
        )

    def admits(self, business: Business | None) -> bool:
        """Whether `business` may submit to this session: any business, or only invited ones."""
        return not self.invitation_only or self.is_invited(business)

    def can_take_part(self, user) -> bool:
        """A business owner may see and submit to this session."""
        if not (user.is_authenticated and user.role is Role.PROPONENT):
            return False
        if self.status is not SessionStatus.OPEN:
            return False
        return self.admits(user.business)

    @property
    def takes_paper_proposals(self) -> bool:
        """Paper forms (and proposal imports) are entered while the session is open or under review."""
        return self.status in PAPER_INTAKE_STATUSES

    @property
    def takes_votes(self) -> bool:
        """The participants' votes are recorded while the session is open or under review."""
        return self.status in RATING_STATUSES

    @property
    def takes_ratings(self) -> bool:
        """Ratings are saved while open or under review, and corrected (with a reason) once finalized."""
        return self.status in RATING_STATUSES or self.changes_are_corrections

    @property
    def meeting_record_is_frozen(self) -> bool:
        """Finalized or archived: the roster, attendance, agenda and document settings no longer change."""
        # The minutes print them live and, unlike the ranking's snapshots, have no versions.
        return self.is_published

    def open_problems(self) -> list[str]:
        """Why the session cannot open yet (empty when it can)."""
        from flask_babel import gettext as _

        problems = []
        if not self.criteria:
            problems.append(_("Add at least one criterion."))
        elif sum(criterion.weight for criterion in self.criteria) <= 0:
            problems.append(_("At least one criterion needs a weight above zero."))
        if not self.categories:
            problems.append(_("Add at least one category."))
        if not (self.submission_opens_at and self.submission_closes_at):
            problems.append(_("Set the submission window."))
        elif self.submission_closes_at <= self.submission_opens_at:
            problems.append(_("The submission window must close after it opens."))
        if self.budget_ceiling <= 0:
            problems.append(_("Set the budget ceiling."))
        return problems


class Category(db.Model):
    """A support type within a session, such as sertifikasi halal."""

    __tablename__ = "categories"
    __table_args__ = table_args(sa.UniqueConstraint("session_id", "name"))

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("themed_sessions.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    position: Mapped[int] = mapped_column(default=0)
    # The most the funded proposals of this category may cost together (None: no cap). Migration 0025.
    budget_cap: Mapped[int | None] = mapped_column(sa.BigInteger)
    # For the SIPD-layout export (DESIGN §10): the OPD responsible by default, the Permendagri
    # 90/2019 sub-activity (codes are text: "7.01.02.2.01.0001" is no number) and the kind of
    # spending. "" while not set; a planner may override the OPD and sub-activity per proposal.
    kode_skpd: Mapped[str] = mapped_column(sa.String(22), default="", server_default="")
    nama_skpd: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    kode_sub_giat: Mapped[str] = mapped_column(sa.String(17), default="", server_default="")
    giat_teks: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    jenis_belanja: Mapped[str] = mapped_column(sa.String(60), default=DEFAULT_SPENDING_KIND,
                                               server_default=DEFAULT_SPENDING_KIND)

    themed_session: Mapped[ThemedSession] = relationship(back_populates="categories")

    def __repr__(self) -> str:
        return f"<Category {self.id} {self.name!r}>"


class Criterion(db.Model):
    """A weighted scoring criterion; its key is a contract (DESIGN §3, §7)."""

    __tablename__ = "criteria"
    __table_args__ = table_args(
        sa.UniqueConstraint("session_id", "key"),
        sa.CheckConstraint("direction IN (1, -1)", name="direction"),
        sa.CheckConstraint("weight >= 0", name="weight_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("themed_sessions.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(sa.String(60))
    name: Mapped[str] = mapped_column(sa.String(120))
    weight: Mapped[float] = mapped_column(sa.Float)
    direction: Mapped[int] = mapped_column(sa.SmallInteger, default=1)
    source: Mapped[CriterionSource] = mapped_column(enum_column(CriterionSource, "criterion_source"))
    scale_min: Mapped[int] = mapped_column(default=1, server_default="1")
    scale_max: Mapped[int] = mapped_column(default=5, server_default="5")
    position: Mapped[int] = mapped_column(default=0)

    themed_session: Mapped[ThemedSession] = relationship(back_populates="criteria")

    def __repr__(self) -> str:
        return f"<Criterion {self.key} w={self.weight}>"

    @property
    def is_benefit(self) -> bool:
        """Higher values are better."""
        return self.direction == 1


class Invitation(db.Model):
    """A business invited to a session, and whether it came."""

    __tablename__ = "invitations"
    __table_args__ = table_args(sa.UniqueConstraint("session_id", "business_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("themed_sessions.id", ondelete="CASCADE"), index=True)
    business_id: Mapped[int] = mapped_column(sa.ForeignKey("businesses.id"), index=True)
    invited_at: Mapped[datetime] = mapped_column(default=utcnow)
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    attended: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    checked_in_at: Mapped[datetime | None]
    walk_in: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    themed_session: Mapped[ThemedSession] = relationship(back_populates="invitations")
    business: Mapped[Business] = relationship()

    @hybrid_property
    def is_present(self) -> bool:
        """The one definition of "attended" (documents/attendance.py): checked in, and not undone."""
        return bool(self.attended)

    @is_present.inplace.expression
    @classmethod
    def _is_present_expression(cls):
        return cls.attended.is_(True)

    def __repr__(self) -> str:
        return f"<Invitation s={self.session_id} b={self.business_id}>"
