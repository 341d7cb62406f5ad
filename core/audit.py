"""Audit trail of PHI-touching actions: actor, action, record, outcome; never free text."""
from __future__ import annotations

from sqlalchemy.orm import Session

from core.store.models import AuditEvent


def record(session: Session, *, actor: str, action: str, record_type: str, record_id: str | int,
           outcome: str = "ok") -> None:
    """Append one audit event inside the caller's transaction."""
    session.add(AuditEvent(actor=actor, action=action, record_type=record_type,
                           record_id=str(record_id), outcome=outcome))
