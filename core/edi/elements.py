"""What every reader needs inside a transaction: the segment stream, its context and element codecs."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from core.edi.catalogs import Catalog
from core.edi.errors import EdiParseError
from core.edi.records import Address, Person, Procedure
from core.edi.tokenizer import Tokenizer

ZERO = Decimal(0)
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
        parts = self.composite(text)
        if len(parts) < 2 or not parts[1]:
            self.flag(f"malformed_procedure:{where}")
            return Procedure(parts[0] if len(parts[0]) <= 2 else "", parts[0] if len(parts[0]) > 2 else "")
        return Procedure(parts[0], parts[1], tuple(m for m in parts[2:6] if m))

    def money(self, text: str, where: str) -> Decimal:
        """A required amount; a missing or invalid one is flagged and read as zero."""
        if text:
            try:
                value = Decimal(text)
                # X12 R values have at most 15 significant digits; anything else is garbage.
                if value.is_finite() and value.adjusted() < 15 and value.as_tuple().exponent >= -6:
                    return value
            except InvalidOperation:
                pass
        self.flag(f"bad_amount:{where}")
        return ZERO

    def optional_money(self, text: str, where: str) -> Decimal | None:
        return self.money(text, where) if text else None

    def day(self, text: str, where: str) -> date | None:
        if not text:
            return None
        value = parse_day(text)
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
    n = len(seg)
    return Person(
        last_name=seg[3] if n > 3 else "", first_name=seg[4] if n > 4 else "",
        middle_name=seg[5] if n > 5 else "", id_qualifier=seg[8] if n > 8 else "",
        identifier=seg[9] if n > 9 else "", entity_type=seg[2] if n > 2 else "", suffix=seg[7] if n > 7 else "")


def address(n3: list[str] | None, n4: list[str] | None) -> Address | None:
    if n3 is None and n4 is None:
        return None
    n3 = n3 or []
    n4 = n4 or []
    return Address(line1=el(n3, 1), line2=el(n3, 2), city=el(n4, 1), state=el(n4, 2), postal_code=el(n4, 3))
