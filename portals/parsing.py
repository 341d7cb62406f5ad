"""Turning portal text into typed values: money, US dates. One place, strict, no floats."""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from portals.errors import LayoutChanged


def money(text: str, *, landmark: str = "amount") -> Decimal | None:
    """'$1,234.50' -> Decimal('1234.50'); '' -> None; anything else is a layout change."""
    cleaned = re.sub(r"[\s$,]", "", text or "")
    if not cleaned:
        return None
    try:
        return Decimal(cleaned).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise LayoutChanged(f"{landmark}: {len(text)}-character value is not money", landmark=landmark) from None


def us_date(text: str, *, landmark: str = "date") -> date | None:
    """'03/04/2026' -> date(2026, 3, 4); '' -> None."""
    cleaned = (text or "").strip()
    if not cleaned:
        return None
    for fmt in ("%m/%d/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(cleaned, fmt).date()
        except ValueError:
            continue
    raise LayoutChanged(f"{landmark}: value is not a date", landmark=landmark)


def us_date_keys(value: date) -> str:
    """What a masked MM/DD/YYYY picker needs typed: digits only."""
    return value.strftime("%m%d%Y")
