"""Code catalogs (CARC, RARC, PLB reason, CAS group, claim status category/code) as dated data.

A code is checked against the date of the service or remittance it appears on, not "today":
real files carry codes that were valid then and are deactivated now. The answer is a warning
for the record's flags, never an exception. Operators replace a list with a newer CSV
(`code[,description,start_date,stop_date]`) kept in `<data_dir>/codes/<kind>.csv`.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from pathlib import Path

from core.edi.errors import EdiError

_SHIPPED = Path(__file__).parent / "codes"

# kind -> (shipped file, flag name, complete list?, check start dates?)
KINDS: dict[str, tuple[str, str, bool, bool]] = {
    "carc": ("carc.csv", "carc", True, True),
    "rarc": ("rarc.csv", "rarc", True, True),
    # VistA's PLB start dates are its own load date, so only stops are meaningful.
    "plb_reasons": ("plb_reasons.csv", "plb_reason", True, False),
    "group_codes": ("group_codes.csv", "group", True, False),
    "claim_status_categories": ("claim_status_categories.csv", "status_category", True, False),
    # Shipped partially; an unknown status code is not worth a warning until a full list is loaded.
    "claim_status_codes": ("claim_status_codes.csv", "status_code", False, False),
}


class CodeListInvalid(EdiError):
    """The code list file is not a usable CSV (needs a `code` column, ISO dates)."""


@dataclass(frozen=True)
class CodeEntry:
    code: str
    description: str = ""
    start: date | None = None
    stop: date | None = None


@dataclass(frozen=True)
class CodeList:
    kind: str
    entries: dict[str, CodeEntry] = field(default_factory=dict)
    complete: bool = True
    check_start: bool = True

    def problem(self, code: str, on: date | None) -> str | None:
        """None when fine, else "unknown", "deactivated" or "not_yet_valid" at date `on`."""
        entry = self.entries.get(code)
        if entry is None:
            return "unknown" if self.complete else None
        if on is not None:
            if entry.stop is not None and on >= entry.stop:
                return "deactivated"
            if self.check_start and entry.start is not None and on < entry.start:
                return "not_yet_valid"
        return None

    def describe(self, code: str) -> str:
        entry = self.entries.get(code)
        return entry.description if entry else ""


def parse_code_list(kind: str, text: str, *, source: str = "") -> CodeList:
    """A CodeList from CSV text; raises CodeListInvalid naming the bad row."""
    if kind not in KINDS:
        raise CodeListInvalid(f"unknown code list kind {kind!r}; one of {', '.join(KINDS)}")
    _, _, complete, check_start = KINDS[kind]
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "code" not in reader.fieldnames:
        raise CodeListInvalid(f"{source or kind}: the CSV needs a 'code' column")
    entries: dict[str, CodeEntry] = {}
    for n, row in enumerate(reader, start=2):
        code = (row.get("code") or "").strip()
        if not code:
            continue
        try:
            start = _iso(row.get("start_date"))
            stop = _iso(row.get("stop_date"))
        except ValueError as exc:
            raise CodeListInvalid(f"{source or kind}: line {n}: {exc}") from None
        entries[code] = CodeEntry(code, (row.get("description") or "").strip(), start, stop)
    if not entries:
        raise CodeListInvalid(f"{source or kind}: no codes in the file")
    return CodeList(kind, entries, complete, check_start)


def _iso(value: str | None) -> date | None:
    value = (value or "").strip()
    return date.fromisoformat(value) if value else None


@dataclass(frozen=True)
class Catalog:
    """All code lists the readers check against; `flag()` turns a problem into a record flag."""

    lists: dict[str, CodeList]

    def problem(self, kind: str, code: str, on: date | None) -> str | None:
        code_list = self.lists.get(kind)
        return code_list.problem(code, on) if code_list else None

    def flag(self, kind: str, code: str, on: date | None) -> str | None:
        """"deactivated_carc:A7"-style flag, or None when the code is fine."""
        problem = self.problem(kind, code, on)
        return f"{problem}_{KINDS[kind][1]}:{code}" if problem else None

    def describe(self, kind: str, code: str) -> str:
        code_list = self.lists.get(kind)
        return code_list.describe(code) if code_list else ""

    def with_list(self, code_list: CodeList) -> "Catalog":
        return replace(self, lists={**self.lists, code_list.kind: code_list})

    def overlay(self, directory: Path) -> "Catalog":
        """Replace shipped lists with operator-supplied `<directory>/<kind>.csv` files."""
        catalog = self
        for kind in KINDS:
            path = directory / f"{kind}.csv"
            if path.is_file():
                catalog = catalog.with_list(parse_code_list(kind, path.read_text(encoding="utf-8"), source=str(path)))
        return catalog


@lru_cache(maxsize=1)
def shipped_catalog() -> Catalog:
    """The lists shipped in core/edi/codes (provenance in its README.md)."""
    lists = {}
    for kind, (filename, _, _, _) in KINDS.items():
        lists[kind] = parse_code_list(kind, (_SHIPPED / filename).read_text(encoding="utf-8"), source=filename)
    return Catalog(lists)


def load_catalog(data_dir: Path | None = None) -> Catalog:
    """Shipped lists overlaid with the operator's `<data_dir>/codes/*.csv`, when present."""
    catalog = shipped_catalog()
    return catalog.overlay(data_dir / "codes") if data_dir is not None else catalog
