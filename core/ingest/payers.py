"""Payers found in X12 files, created on demand.

Matching: an existing payer whose x12_id equals the file's payer identifier (N1*PR N104 or
REF*2U in an 835, NM1*PR NM109 in a 277CA or 837); else one whose name matches (case-blind);
else a new payer. Its code is the name upper-cased with runs of other characters turned into
"_" (at most 40 characters: "RUSHMORE LIFE" -> "RUSHMORE_LIFE"); with no name it is
"PAYER_<identifier>"; a code already taken gets "_<identifier>" or "_2", "_3", ... appended.
Operators may rename codes afterwards; matching never depends on the code.
"""
from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.edi.records import Party
from core.errors import StoreError
from core.store.models import Payer

_NON_CODE = re.compile(r"[^A-Z0-9]+")


def payer_code(name: str, identifier: str) -> str:
    base = _NON_CODE.sub("_", name.upper()).strip("_")[:40]
    if not base:
        base = ("PAYER_" + _NON_CODE.sub("_", identifier.upper()).strip("_"))[:40] if identifier else "UNKNOWN_PAYER"
    return base


def resolve_payer(session: Session, party: Party, cache: dict[tuple[str, str], int]) -> int:
    """The payer id for `party`, creating the payer when none matches."""
    name, identifier = party.name.strip(), party.identifier.strip()
    key = (name.upper(), identifier)
    if key in cache:
        return cache[key]
    payer_id = _match(session, name, identifier)
    if payer_id is None:
        payer_id = _create(session, name, identifier)
    cache[key] = payer_id
    return payer_id


def _match(session: Session, name: str, identifier: str) -> int | None:
    payer_id = None
    if identifier:
        payer_id = session.scalar(select(Payer.id).where(Payer.x12_id == identifier).order_by(Payer.id).limit(1))
    if payer_id is None and name:
        payer_id = session.scalar(select(Payer.id).where(func.upper(Payer.name) == name.upper())
                                  .order_by(Payer.id).limit(1))
    return payer_id


def _create(session: Session, name: str, identifier: str) -> int:
    base = payer_code(name, identifier)
    candidates = [base]
    if identifier:
        candidates.append(f"{base[:39 - len(identifier[:20])]}_{identifier[:20]}")
    candidates += [f"{base[:37]}_{n}" for n in range(2, 100)]
    for code in candidates:
        if session.scalar(select(Payer.id).where(Payer.code == code)) is not None:
            continue
        try:
            with session.begin_nested():
                payer = Payer(code=code, name=(name or code)[:255], x12_id=identifier or None)
                session.add(payer)
                session.flush()
            return payer.id
        except IntegrityError:
            # Another ingester took the code a moment ago, maybe for this very payer.
            found = _match(session, name, identifier)
            if found is not None:
                return found
    raise StoreError("no free payer code for this payer name")
