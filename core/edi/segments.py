"""Delimiters and the small value codecs (dates, amounts, composites) shared by readers and writers."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation


@dataclass(frozen=True)
class Delimiters:
    element: str = "*"
    repetition: str = "^"
    component: str = ":"
    segment: str = "~"

    def specials(self) -> str:
        return self.element + self.repetition + self.component + self.segment


DEFAULT_DELIMITERS = Delimiters()


def parse_amount(text: str) -> Decimal | None:
    """An X12 R (decimal) value, or None when empty or not a finite number."""
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() and value.adjusted() < 15 and value.as_tuple().exponent >= -6 else None


def format_amount(value: Decimal) -> str:
    """Money as X12 R: two decimals kept when present, never exponent notation."""
    if value == value.to_integral_value() and value.as_tuple().exponent >= 0:
        return f"{value:f}"
    return f"{value.quantize(Decimal('0.01')):f}" if value.as_tuple().exponent >= -2 else f"{value.normalize():f}"


def format_quantity(value: Decimal) -> str:
    """A quantity (units, days) as X12 R without trailing zeros."""
    text = f"{value.normalize():f}"
    return text


def parse_date(text: str) -> date | None:
    """CCYYMMDD (D8) or YYMMDD (4010 ISA-style) to a date; None when empty or not a real date."""
    try:
        if len(text) == 8 and text.isdigit() and text[:2] in ("19", "20", "21"):
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        if len(text) == 6 and text.isdigit():
            year = int(text[:2])
            return date(2000 + year if year < 50 else 1900 + year, int(text[2:4]), int(text[4:]))
    except ValueError:
        return None
    return None


def format_date(value: date) -> str:
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


def parse_date_range(qualifier: str, text: str) -> tuple[date | None, date | None]:
    """DTP D8 or RD8 (CCYYMMDD-CCYYMMDD) to (from, to)."""
    if qualifier == "RD8" or "-" in text:
        start, _, end = text.partition("-")
        return parse_date(start), parse_date(end)
    day = parse_date(text)
    return day, day
