"""The domain model (DESIGN §3); one module per aggregate."""
from participation.models.audit import AppendOnlyError, AuditEvent
from participation.models.base import LabelledEnum, RetiredCode, utcnow
from participation.models.business import (
    Business,
    IdentityChange,
    IdentityChangeReason,
    IdentityChangeStatus,
    LegalForm,
    Scale,
    derive_scale,
    normalize_business_name,
)
from participation.models.documents import AgendaItem, AgendaKind, Letterhead
from participation.models.job import Job, JobState
from participation.models.files import StoredFile
from participation.models.notification import Notification, NotificationChannel, NotificationState
from participation.models.proposal import (
    RECEIPT_PREFIX,
    Proposal,
    ProposalSource,
    ProposalStatus,
    ProposalStatusChange,
    ReceiptCounter,
)
from participation.models.review import Decision, ImmutableError, Outcome, RankingSnapshot, Rating
from participation.models.privacy import AccountErasure, HousekeepingRun
from participation.models.security import RateLimitHit
from participation.models.session import (
    FIELD_SOURCES,
    LIFE_CYCLE,
    PUBLISHED_STATUSES,
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
    Transition,
    WeightsOrigin,
    session_members,
)
from participation.models.two_factor import RecoveryCode, StaffTotp
from participation.models.user import Role, User

__all__ = [
    "AccountErasure",
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
    "RateLimitHit",
    "Rating",
    "RetiredCode",
    "FIELD_SOURCES",
    "HousekeepingRun",
    "IdentityChange",
    "IdentityChangeReason",
    "IdentityChangeStatus",
    "Invitation",
    "Job",
    "JobState",
    "LabelledEnum",
    "LIFE_CYCLE",
    "LegalForm",
    "Letterhead",
    "Normalization",
    "Notification",
    "NotificationChannel",
    "NotificationState",
    "Proposal",
    "ProposalSource",
    "ProposalStatus",
    "ProposalStatusChange",
    "PUBLISHED_STATUSES",
    "RECEIPT_PREFIX",
    "ReceiptCounter",
    "RecoveryCode",
    "Role",
    "Scale",
    "ScoringMethod",
    "SelectionMethod",
    "SessionStatus",
    "StaffTotp",
    "StoredFile",
    "TRANSITIONS",
    "ThemedSession",
    "Transition",
    "User",
    "WeightsOrigin",
    "derive_scale",
    "normalize_business_name",
    "session_members",
    "utcnow",
]
