"""Alerts: what an operator must see and act on; raised in the caller's transaction, sent after commit.

Kinds: `account_disabled` (BadCredentials, AccountLocked: no logins until `payerfleet accounts enable`),
`capability_paused` (LayoutChanged: the capability stays paused on that portal until the alert is
acknowledged), `run_failed` (any other failure whose consequence is an alert). An open alert of the same
kind and subject is not raised twice, so a failing schedule does not flood the operator. Messages hold
error types, aliases and opaque ids only, never PHI.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.errors import NotFound
from core.store.db import Database
from core.store.models import Alert, utcnow

ACCOUNT_DISABLED, CAPABILITY_PAUSED, RUN_FAILED = "account_disabled", "capability_paused", "run_failed"
CRITICAL, WARNING = "critical", "warning"


@dataclass(frozen=True)
class AlertInfo:
    """An alert as callers and notifiers see it."""

    id: int
    kind: str
    severity: str
    subject: str
    message: str
    raised_at: datetime
    acked_at: datetime | None
    acked_by: str | None

    @classmethod
    def of(cls, row: Alert) -> "AlertInfo":
        return cls(row.id, row.kind, row.severity, row.subject, row.message, _utc(row.raised_at), _utc(row.acked_at),
                   row.acked_by)

    def as_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "severity": self.severity, "subject": self.subject,
                "message": self.message, "raised_at": self.raised_at.isoformat(),
                "acked_at": self.acked_at.isoformat() if self.acked_at else None, "acked_by": self.acked_by}


def _utc(dt: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes even for timezone=True columns; they are UTC.
    return dt.replace(tzinfo=timezone.utc) if dt is not None and dt.tzinfo is None else dt


def account_subject(alias: str) -> str:
    return f"account:{alias}"


def capability_subject(portal: str, capability: str) -> str:
    return f"portal:{portal}/capability:{capability}"


def raise_alert(s: Session, kind: str, severity: str, subject: str, message: str) -> AlertInfo | None:
    """Add an alert in the caller's transaction; None when the same one is already open."""
    open_already = s.scalar(select(Alert.id).where(Alert.kind == kind, Alert.subject == subject,
                                                   Alert.acked_at.is_(None)).limit(1))
    if open_already is not None:
        return None
    row = Alert(kind=kind, severity=severity, subject=subject[:200], message=message[:1000], raised_at=utcnow())
    s.add(row)
    s.flush()
    return AlertInfo.of(row)


def list_alerts(db: Database, *, include_acked: bool = False) -> list[AlertInfo]:
    with db.transaction() as s:
        q = select(Alert).order_by(Alert.raised_at.desc(), Alert.id.desc())
        if not include_acked:
            q = q.where(Alert.acked_at.is_(None))
        return [AlertInfo.of(a) for a in s.scalars(q)]


def ack(db: Database, alert_id: int, by: str) -> AlertInfo:
    """Acknowledge an alert (idempotent); acknowledging a paused capability resumes it."""
    with db.transaction() as s:
        row = s.get(Alert, alert_id)
        if row is None:
            raise NotFound(f"no alert {alert_id}; see `payerfleet alerts list`")
        if row.acked_at is None:
            row.acked_at, row.acked_by = utcnow(), by[:80]
        return AlertInfo.of(row)


def ack_subject(s: Session, kind: str, subject: str, by: str) -> int:
    """Acknowledge every open alert of this kind about this subject (e.g. when the account is re-enabled)."""
    return s.execute(update(Alert).where(Alert.kind == kind, Alert.subject == subject, Alert.acked_at.is_(None))
                     .values(acked_at=utcnow(), acked_by=by[:80])).rowcount


def paused(db: Database, portal: str, capabilities: tuple[str, ...]) -> str | None:
    """The first of these capabilities paused on this portal (an open capability_paused alert), if any."""
    subjects = {capability_subject(portal, c): c for c in capabilities}
    with db.transaction() as s:
        hit = s.scalar(select(Alert.subject).where(Alert.kind == CAPABILITY_PAUSED, Alert.acked_at.is_(None),
                                                   Alert.subject.in_(list(subjects))).limit(1))
    return subjects.get(hit) if hit else None
