"""Store contract: migrations, money as Decimal, unique idempotency keys, append-only tables."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from core.store import migrate
from core.store.db import Database
from core.store.models import AuditEvent, Claim, EdiFile, Payer, Remittance


def test_migrations_are_current(db):
    assert migrate.is_current(db)


def test_money_round_trips_as_decimal(db):
    with db.transaction() as s:
        payer = Payer(code="AETNA", name="Aetna")
        s.add(payer)
        s.flush()
        s.add(Claim(payer_id=payer.id, patient_control_number="PCN1", billed_amount=Decimal("1234.56"),
                    dos_from=date(2026, 1, 2)))
    with db.transaction() as s:
        claim = s.scalars(select(Claim)).one()
        assert claim.billed_amount == Decimal("1234.56")
        assert isinstance(claim.billed_amount, Decimal)


def test_same_file_twice_is_refused_by_the_database(db):
    with db.transaction() as s:
        s.add(EdiFile(sha256="a" * 64, filename="x.835", provenance="inbox:x", size=1, kind="835"))
    with pytest.raises(IntegrityError):
        with db.transaction() as s:
            s.add(EdiFile(sha256="a" * 64, filename="y.835", provenance="inbox:y", size=1, kind="835"))


def test_same_remittance_trace_twice_is_refused(db):
    with db.transaction() as s:
        payer = Payer(code="UHC", name="UnitedHealthcare")
        f = EdiFile(sha256="b" * 64, filename="x", provenance="p", size=1, kind="835")
        s.add_all([payer, f])
        s.flush()
        s.add(Remittance(edi_file_id=f.id, payer_id=payer.id, trace_number="T1", version="005010X221A1",
                         payment_amount=Decimal("10.00")))
    with pytest.raises(IntegrityError):
        with db.transaction() as s:
            s.add(Remittance(edi_file_id=1, payer_id=1, trace_number="T1", version="005010X221A1",
                             payment_amount=Decimal("10.00")))


def test_audit_log_is_append_only(db):
    with db.transaction() as s:
        s.add(AuditEvent(actor="test", action="evidence.viewed", record_type="evidence", record_id="1",
                         outcome="ok"))
    for stmt in ("UPDATE audit_log SET outcome = 'changed'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.transaction() as s:
                s.execute(text(stmt))
    with db.transaction() as s:
        assert s.scalars(select(AuditEvent.outcome)).all() == ["ok"]


def test_sqlite_runs_with_wal_foreign_keys_and_full_sync(tmp_path):
    sqlite = Database(f"sqlite:///{tmp_path / 'p.db'}")
    with sqlite.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
