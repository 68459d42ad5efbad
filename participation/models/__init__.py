"""The domain model (DESIGN §3); one module per aggregate."""
from participation.models.audit import AppendOnlyError, AuditEvent
from participation.models.base import utcnow
from participation.models.business import Business, LegalForm, Scale, derive_scale, normalize_business_name
from participation.models.security import LoginFailure
from participation.models.user import Role, User

__all__ = [
    "AppendOnlyError",
    "AuditEvent",
    "Business",
    "LegalForm",
    "LoginFailure",
    "Role",
    "Scale",
    "User",
    "derive_scale",
    "normalize_business_name",
    "utcnow",
]
