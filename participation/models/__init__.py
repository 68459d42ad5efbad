"""The domain model (DESIGN §3); one module per aggregate."""
from participation.models.audit import AppendOnlyError, AuditEvent
from participation.models.base import utcnow
from participation.models.business import Business, LegalForm, Scale, derive_scale, normalize_business_name
from participation.models.documents import AgendaItem, AgendaKind, Letterhead
from participation.models.proposal import (
    RECEIPT_PREFIX,
    Proposal,
    ProposalSource,
    ProposalStatus,
    ProposalStatusChange,
    ReceiptCounter,
)
from participation.models.review import Decision, ImmutableError, Outcome, RankingSnapshot, Rating
from participation.models.security import LoginFailure
from participation.models.session import (
    FIELD_SOURCES,
    TRANSITIONS,
    Category,
    Criterion,
    CriterionSource,
    Invitation,
    Normalization,
    ScoringMethod,
    SelectionMethod,
    SessionStatus,
    ThemedSession,
    WeightsOrigin,
    session_members,
)
from participation.models.user import Role, User

__all__ = [
    "AgendaItem",
    "AgendaKind",
    "AppendOnlyError",
    "AuditEvent",
    "Business",
    "Category",
    "Criterion",
    "CriterionSource",
    "Decision",
    "ImmutableError",
    "Outcome",
    "RankingSnapshot",
    "Rating",
    "FIELD_SOURCES",
    "Invitation",
    "LegalForm",
    "Letterhead",
    "LoginFailure",
    "Normalization",
    "Proposal",
    "ProposalSource",
    "ProposalStatus",
    "ProposalStatusChange",
    "RECEIPT_PREFIX",
    "ReceiptCounter",
    "Role",
    "Scale",
    "ScoringMethod",
    "SelectionMethod",
    "SessionStatus",
    "TRANSITIONS",
    "ThemedSession",
    "User",
    "WeightsOrigin",
    "derive_scale",
    "normalize_business_name",
    "session_members",
    "utcnow",
]
