"""The denial store schema; Alembic migrations are the only way it is created or changed."""
from core.store.models.base import Base, utcnow
from core.store.models.claims import Claim, ClaimDiagnosis, ClaimLine, EdiFile
from core.store.models.ops import (
    Alert, AuditEvent, AutomationRun, EvidenceChainHead, EvidenceEntry, PortalRequest, ProcrastinateMigration,
)
from core.store.models.reference import Payer, Plan, PortalAccount, VaultSecret
from core.store.models.remittance import (
    Adjustment,
    ClaimPayment,
    ClaimStatusEvent,
    LinePayment,
    ProviderAdjustment,
    Rejection,
    RemarkCode,
    Remittance,
)
from core.store.models.users import LoginAttempt, User
from core.store.models.work import Appeal, PayerTouch, SubmissionIntent, WorkItem

__all__ = [
    "Adjustment", "Alert", "Appeal", "AuditEvent", "AutomationRun", "Base", "Claim", "ClaimDiagnosis",
    "ClaimLine", "ClaimPayment", "ClaimStatusEvent", "EdiFile", "EvidenceChainHead", "EvidenceEntry", "LinePayment", "LoginAttempt",
    "Payer", "PayerTouch", "Plan", "PortalAccount", "PortalRequest", "ProcrastinateMigration", "ProviderAdjustment",
    "Rejection", "RemarkCode", "Remittance", "SubmissionIntent", "User", "VaultSecret", "WorkItem", "utcnow",
]
