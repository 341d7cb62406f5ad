"""837P/837I reader: submitted claims with the hierarchy above them (provider, subscriber, payer)."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from core.edi.elements import TxContext, address, el, person
from core.edi.records import Claim, ClaimLine, ClaimSubmission, Contact, Diagnosis, Party, Person
from core.edi.segments import parse_date_range

_ENVELOPE = {"ST", "GE", "GS", "IEA", "ISA"}
# HI qualifiers that carry diagnoses (ICD-10: ABK principal, ABF other, ABJ admitting, APR reason
# for visit, ABN external cause; ICD-9 equivalents BK, BF, BJ, PR, BN).
_DIAGNOSIS = {"ABK", "ABF", "ABJ", "APR", "ABN", "BK", "BF", "BJ", "PR", "BN"}
ONE = Decimal(1)


class _Entity:
    """An NM1 being read plus its N3/N4/REF/DMG/PER followers."""

    __slots__ = ("seg", "n3", "n4", "refs", "dmg", "per")

    def __init__(self, seg: list[str]):
        self.seg = seg
        self.n3: list[str] | None = None
        self.n4: list[str] | None = None
        self.refs: dict[str, str] = {}
        self.dmg: list[str] | None = None
        self.per: list[str] | None = None

    def party(self) -> Party:
        seg = self.seg
        name = el(seg, 3) if el(seg, 2) != "1" or not el(seg, 4) else f"{el(seg, 3)} {el(seg, 4)}"
        contact = Contact(name=el(self.per, 2), qualifier=el(self.per, 3), number=el(self.per, 4)) if self.per else None
        return Party(name=name, id_qualifier=el(seg, 8), identifier=el(seg, 9), address=address(self.n3, self.n4),
                     contact=contact, tax_id=self.refs.get("EI", "") or self.refs.get("SY", ""))

    def person(self, ctx: TxContext) -> Person:
        base = person(self.seg)
        dmg = self.dmg
        return replace(base, address=address(self.n3, self.n4),
                       birth_date=ctx.day(el(dmg, 2), "DMG02") if dmg else None, gender=el(dmg, 3) if dmg else "")


def read_837(ctx: TxContext, kind: str) -> ClaimSubmission:
    """Consume segments up to SE into a ClaimSubmission of `kind` ("837P" or "837I")."""
    bht: list[str] = ["BHT"]
    header: dict[str, _Entity] = {}
    entity: _Entity | None = None
    hl: dict = {}
    claims: list[dict] = []
    claim: dict | None = None
    line: dict | None = None
    count = 1
    for seg in ctx.segments:
        count += 1
        sid = seg[0]
        if sid in ("N3", "N4"):
            if entity is not None:
                setattr(entity, sid.lower(), seg)
        elif sid == "NM1":
            code = el(seg, 1)
            entity = _Entity(seg)
            if claim is not None:
                if code in ("82", "71"):
                    if line is not None:
                        line["rendering"] = el(seg, 9)
                    else:
                        claim["people"].setdefault(code, entity)
                # Other NM1s in a claim (other subscriber, service facility, ...) are not ours.
            elif not hl and code in ("41", "40"):
                header[code] = entity
            elif hl.get("level") == "20" and code == "85":
                hl["billing"] = entity
            elif hl.get("level") == "22" and code in ("IL", "PR"):
                hl[code] = entity
            elif hl.get("level") == "23" and code == "QC":
                hl["QC"] = entity
        elif sid == "REF":
            if line is not None and el(seg, 1) == "6R":
                line["control"] = el(seg, 2)
            elif entity is not None:
                entity.refs.setdefault(el(seg, 1), el(seg, 2))
        elif sid == "DMG":
            if entity is not None:
                entity.dmg = seg
        elif sid == "PER":
            if entity is not None and entity.per is None:
                entity.per = seg
        elif sid == "LX":
            if claim is None:
                ctx.flag("lx_outside_claim")
                continue
            line = {"seg": None, "dates": (None, None), "control": "", "rendering": ""}
            claim["lines"].append(line)
            entity = None
        elif sid in ("SV1", "SV2"):
            if line is None or line["seg"] is not None:
                if claim is None:
                    ctx.flag("service_outside_claim")
                    continue
                line = {"seg": None, "dates": (None, None), "control": "", "rendering": ""}
                claim["lines"].append(line)
            line["seg"] = seg
        elif sid == "DTP":
            qualifier = el(seg, 1)
            if line is not None and qualifier == "472":
                line["dates"] = _dates(seg, ctx)
            elif claim is not None and line is None and qualifier in ("434", "472"):
                claim["dates"] = _dates(seg, ctx)
        elif sid == "HI":
            if claim is not None:
                for text in seg[1:]:
                    parts = ctx.composite(text) if text else []
                    if len(parts) >= 2 and parts[0] in _DIAGNOSIS and parts[1]:
                        claim["diagnoses"].append(Diagnosis(parts[0], parts[1]))
        elif sid == "CLM":
            line = None
            entity = None
            claim = {"seg": seg, "hl": dict(hl), "people": {}, "diagnoses": [], "lines": [], "dates": (None, None)}
            claims.append(claim)
        elif sid == "HL":
            level = el(seg, 3)
            parent = hl if level != "20" else {}
            if level == "22":
                parent = {k: v for k, v in hl.items() if k in ("billing",)}
            hl = {**parent, "level": level}
            claim = line = None
            entity = None
        elif sid == "SBR":
            if claim is None:
                hl["sbr"] = seg
        elif sid == "PAT":
            hl["pat"] = seg
        elif sid == "BHT":
            bht = seg
        elif sid == "SE":
            ctx.check_se(seg, count)
            return _build(ctx, kind, bht, header, claims)
        elif sid in _ENVELOPE:
            break
    raise ctx.truncated("837")


def _dates(seg: list[str], ctx: TxContext):
    dates = parse_date_range(el(seg, 2), el(seg, 3))
    if dates[0] is None:
        ctx.flag(f"bad_date:DTP{el(seg, 1)}")
    return dates


def _build(ctx: TxContext, kind: str, bht: list[str], header: dict, claims: list[dict]) -> ClaimSubmission:
    built = tuple(_claim(c, ctx, kind) for c in claims)
    day = ctx.day(el(bht, 4), "BHT04")
    hhmm = el(bht, 5)
    created = datetime(1900, 1, 1)
    if day is not None:
        try:
            created = datetime(day.year, day.month, day.day, int(hhmm[:2] or 0), int(hhmm[2:4] or 0))
        except ValueError:
            created = datetime(day.year, day.month, day.day)
    submitter = header["41"].party() if "41" in header else Party(name="")
    receiver = header["40"].party() if "40" in header else Party(name="")
    return ClaimSubmission(submitter=submitter, receiver=receiver, reference=el(bht, 3), created=created,
                           claims=built, kind=kind, control_number=ctx.control_number, version=ctx.version,
                           flags=tuple(ctx.flags))


def _claim(c: dict, ctx: TxContext, kind: str) -> Claim:
    seg = c["seg"]
    hl = c["hl"]
    facility = ctx.composite(el(seg, 5)) if el(seg, 5) else [""]
    flags: list[str] = []
    sbr = hl.get("sbr", ["SBR"])
    billing = hl["billing"].party() if "billing" in hl else Party(name="")
    subscriber = hl["IL"].person(ctx) if "IL" in hl else Person(last_name="")
    payer = hl["PR"].party() if "PR" in hl else Party(name="")
    for role, present in (("billing_provider", "billing" in hl), ("subscriber", "IL" in hl), ("payer", "PR" in hl)):
        if not present:
            flags.append(f"missing_{role}")
    patient = hl["QC"].person(ctx) if "QC" in hl else None
    people = c["people"]
    rendering_entity = people.get("82") or (people.get("71") if kind == "837I" else None)
    lines = []
    pointers_total = len(c["diagnoses"])
    for ln in c["lines"]:
        lseg = ln["seg"]
        if lseg is None:
            flags.append("line_without_service")
            continue
        if lseg[0] == "SV1":
            procedure = ctx.procedure(el(lseg, 1), "SV101")
            charge, basis, units, pos = el(lseg, 2), el(lseg, 3), el(lseg, 4), el(lseg, 5)
            pointers = tuple(int(p) for p in ctx.composite(el(lseg, 7)) if p.isdigit()) if el(lseg, 7) else ()
            revenue = ""
        else:
            procedure = ctx.procedure(el(lseg, 2), "SV202") if el(lseg, 2) else None
            charge, basis, units, pos = el(lseg, 3), el(lseg, 4), el(lseg, 5), ""
            pointers, revenue = (), el(lseg, 1)
        if any(p < 1 or p > pointers_total for p in pointers):
            flags.append("diagnosis_pointer_out_of_range")
        lines.append(ClaimLine(
            procedure=procedure, charge=ctx.money(charge, lseg[0]), units=ctx.money(units, lseg[0]) if units else ONE,
            unit_basis=basis, revenue_code=revenue, place_of_service=pos, diagnosis_pointers=pointers,
            service_from=ln["dates"][0], service_to=ln["dates"][1], line_control_number=ln["control"],
            rendering_npi=ln["rendering"]))
    pat = hl.get("pat")
    return Claim(
        patient_control_number=el(seg, 1), charge=ctx.money(el(seg, 2), "CLM02"), billing_provider=billing,
        subscriber=subscriber, payer=payer, facility_code=facility[0],
        frequency_code=facility[2] if len(facility) > 2 else "",
        facility_qualifier=facility[1] if len(facility) > 1 else "", payer_responsibility=el(sbr, 1),
        filing_indicator=el(sbr, 9), group_number=el(sbr, 3), patient=patient,
        relationship=el(pat, 1) if pat else el(sbr, 2),
        rendering_provider=rendering_entity.person(ctx) if rendering_entity else None,
        diagnoses=tuple(c["diagnoses"]), lines=tuple(lines), service_from=c["dates"][0],
        service_to=c["dates"][1], flags=tuple(flags))
