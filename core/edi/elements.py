"""What every reader needs inside a transaction: the segment stream, its context and element codecs."""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from core.edi.catalogs import Catalog
from core.edi.errors import EdiParseError
from core.edi.records import Address, Person, Procedure, fast_constructor
from core.edi.tokenizer import Tokenizer

ZERO = Decimal(0)
_new_person = fast_constructor(Person)
_DECIMAL = re.compile(r"-?(?:\d+\.?\d{0,6}|\.\d{1,6})")
# Component separators seen in the wild when a file's own ISA16 says otherwise.
_ALT_COMPONENTS = ":>^|<\\"


@dataclass
class TxContext:
    """One transaction being read: its segments, delimiters, version and catalog."""

    segments: Iterator[list[str]]
    tokenizer: Tokenizer
    catalog: Catalog
    version: str
    control_number: str
    component: str
    flags: list[str] = field(default_factory=list)
    # Memos: real files repeat the same amounts, dates, procedures and codes thousands of times,
    # and the values are immutable, so one object serves every repeat.
    _amounts: dict[str, Decimal] = field(default_factory=dict)
    _days: dict[str, date | None] = field(default_factory=dict)
    _procedures: dict[str, Procedure] = field(default_factory=dict)
    _codes: dict[tuple, str | None] = field(default_factory=dict)

    def flag(self, text: str) -> None:
        if text not in self.flags:
            self.flags.append(text)

    def truncated(self, st_id: str) -> EdiParseError:
        return self.tokenizer.error(f"truncated: transaction {st_id} has no SE trailer", "SE")

    def check_se(self, seg: list[str], counted: int) -> None:
        declared = el(seg, 1)
        if declared != str(counted):
            self.flag(f"se_count_mismatch:declared={declared},actual={counted}")

    def composite(self, text: str) -> list[str]:
        """Split a composite; tolerate a file that uses another component separator than ISA16."""
        parts = text.split(self.component)
        if len(parts) == 1 and len(text) > 2:
            for alt in _ALT_COMPONENTS:
                if alt != self.component and alt in text:
                    self.flag(f"component_separator_mismatch:{alt}")
                    return text.split(alt)
        return parts

    def procedure(self, text: str, where: str) -> Procedure:
        known = self._procedures.get(text)
        if known is not None:
            return known
        parts = self.composite(text)
        if len(parts) < 2 or not parts[1]:
            self.flag(f"malformed_procedure:{where}")
            return Procedure(parts[0] if len(parts[0]) <= 2 else "", parts[0] if len(parts[0]) > 2 else "")
        value = Procedure(parts[0], parts[1], tuple(m for m in parts[2:6] if m))
        if len(self._procedures) < 10_000:
            self._procedures[text] = value
        return value

    def code_flag(self, kind: str, code: str, on: date | None) -> str | None:
        """The catalog's flag for `code` used on date `on` (memoised)."""
        key = (kind, code, on)
        try:
            return self._codes[key]
        except KeyError:
            value = self._codes[key] = self.catalog.flag(kind, code, on)
            return value

    def money(self, text: str, where: str) -> Decimal:
        """A required amount; a missing or invalid one is flagged and read as zero."""
        value = self._amounts.get(text)
        if value is not None:
            return value
        # X12 R: optional sign, digits, optional decimal point; at most 15 significant digits.
        if text and len(text) <= 20 and _DECIMAL.fullmatch(text):
            value = Decimal(text)
            if value.adjusted() < 15:
                if len(self._amounts) < 100_000:
                    self._amounts[text] = value
                return value
        self.flag(f"bad_amount:{where}")
        return ZERO

    def optional_money(self, text: str, where: str) -> Decimal | None:
        return self.money(text, where) if text else None

    def day(self, text: str, where: str) -> date | None:
        if not text:
            return None
        try:
            value = self._days[text]
        except KeyError:
            value = self._days[text] = parse_day(text)
        if value is None:
            self.flag(f"bad_date:{where}")
        return value


def el(seg: list[str], i: int) -> str:
    return seg[i] if len(seg) > i else ""


def parse_day(text: str) -> date | None:
    """CCYYMMDD to a date; None when not a real date or outside 1900..2199 (placeholders)."""
    if len(text) == 8 and text.isdigit() and text[:2] in ("19", "20", "21"):
        try:
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            return None
    return None


def person(seg: list[str]) -> Person:
    """NM1 -> Person (entity type, names, id)."""
    if len(seg) < 10:
        seg = seg + [""] * (10 - len(seg))
    return _new_person(seg[3], seg[4], seg[5], seg[8], seg[9], seg[2], seg[7], None, "", None)


def address(n3: list[str] | None, n4: list[str] | None) -> Address | None:
    if n3 is None and n4 is None:
        return None
    n3 = n3 or []
    n4 = n4 or []
    return Address(line1=el(n3, 1), line2=el(n3, 2), city=el(n4, 1), state=el(n4, 2), postal_code=el(n4, 3))
