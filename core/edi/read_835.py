"""835 remittance reader: one ST..SE into a Remittance, checking balances and codes as flags."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from core.edi.elements import ZERO, TxContext, address, el, person
from core.edi.records import (
    Adjustment, ClaimPayment, Contact, Party, Payment, ProviderAdjustment, Remark, Remittance, ServiceLine,
)

_LINE_DATES = {"472", "150", "151"}
_ENVELOPE = {"ST", "GE", "GS", "IEA", "ISA"}


class _Line:
    __slots__ = ("seg", "procedure", "billed", "dates", "adjustments", "remarks", "control", "allowed", "flags")

    def __init__(self, seg: list[str], ctx: TxContext):
        self.seg = seg
        self.dates: list[date | None] = [None, None]
        self.adjustments: list[Adjustment] = []
        self.remarks: list[Remark] = []
        self.control = ""
        self.allowed: Decimal | None = None
        self.flags: list[str] = []


class _Claim:
    __slots__ = ("seg", "adjustments", "remarks", "people", "dates", "received", "lines")

    def __init__(self, seg: list[str]):
        self.seg = seg
        self.adjustments: list[Adjustment] = []
        self.remarks: list[Remark] = []
        self.people: dict[str, object] = {}
        self.dates: list[date | None] = [None, None]
        self.received: date | None = None
        self.lines: list[_Line] = []


def read_835(ctx: TxContext) -> Remittance:
    """Consume segments up to SE; everything odd becomes a flag, only truncation raises."""
    bpr: list[str] | None = None
    trn: list[str] | None = None
    production: date | None = None
    parties: dict[str, dict] = {}
    party: dict | None = None
    claims: list[_Claim] = []
    claim: _Claim | None = None
    line: _Line | None = None
    plb: list[ProviderAdjustment] = []
    count = 1
    for seg in ctx.segments:
        count += 1
        sid = seg[0]
        if sid == "CAS":
            target = line.adjustments if line is not None else (claim.adjustments if claim is not None else None)
            if target is None:
                ctx.flag("cas_outside_claim")
                continue
            _cas(seg, target, ctx)
        elif sid == "SVC":
            if claim is None:
                ctx.flag("svc_outside_claim")
                continue
            line = _Line(seg, ctx)
            claim.lines.append(line)
        elif sid == "DTM":
            qualifier = el(seg, 1)
            if line is not None and qualifier in _LINE_DATES:
                day = ctx.day(el(seg, 2), "DTM" + qualifier)
                if qualifier == "472":
                    line.dates = [day, day]
                else:
                    line.dates[qualifier == "151"] = day
            elif claim is not None and line is None:
                if qualifier in ("232", "233"):
                    claim.dates[qualifier == "233"] = ctx.day(el(seg, 2), "DTM" + qualifier)
                elif qualifier == "050":
                    claim.received = ctx.day(el(seg, 2), "DTM050")
            elif claim is None and qualifier == "405":
                production = ctx.day(el(seg, 2), "DTM405")
        elif sid == "CLP":
            claim = _Claim(seg)
            line = None
            claims.append(claim)
        elif sid == "NM1":
            if claim is not None:
                claim.people.setdefault(el(seg, 1), person(seg))
        elif sid == "REF":
            if line is not None and el(seg, 1) in ("6R", "LU") and not line.control:
                line.control = el(seg, 2)
            elif claim is None and party is not None:
                if el(seg, 1) == "TJ" and "tax_id" not in party:
                    party["tax_id"] = el(seg, 2)
                elif el(seg, 1) == "2U":
                    party.setdefault("ref_2u", el(seg, 2))
        elif sid == "AMT":
            if line is not None and el(seg, 1) == "B6":
                line.allowed = ctx.optional_money(el(seg, 2), "AMTB6")
        elif sid == "LQ":
            if line is not None and el(seg, 1) == "HE" and el(seg, 2):
                line.remarks.append(Remark("LQ", el(seg, 2)))
        elif sid == "MOA" or sid == "MIA":
            if claim is not None:
                positions = (3, 4, 5, 6, 7) if sid == "MOA" else (5, 20, 21, 22, 23)
                claim.remarks.extend(Remark(sid, el(seg, i)) for i in positions if el(seg, i))
        elif sid == "PLB":
            _plb(seg, plb, ctx)
        elif sid == "BPR":
            if bpr is None:
                bpr = seg
            else:
                ctx.flag("repeated_header")
        elif sid == "TRN":
            if trn is None:
                trn = seg
        elif sid == "N1":
            if claim is not None:
                ctx.flag("n1_inside_claims")
                continue
            code = el(seg, 1)
            if code in parties:
                ctx.flag("repeated_header")
                party = {}
            else:
                party = parties[code] = {"seg": seg}
        elif sid in ("N3", "N4"):
            if party is not None and claim is None:
                party.setdefault(sid, seg)
        elif sid == "PER":
            if party is not None and claim is None:
                if el(seg, 1) == "BL":
                    if not party.get("per_bl"):
                        party["per"], party["per_bl"] = seg, True
                elif "per" not in party:
                    party["per"] = seg
        elif sid == "SE":
            ctx.check_se(seg, count)
            return _build(ctx, bpr, trn, production, parties, claims, plb)
        elif sid == "LX":
            line = None
        elif sid in _ENVELOPE:
            raise ctx.truncated("835")
    raise ctx.truncated("835")


def _cas(seg: list[str], target: list[Adjustment], ctx: TxContext) -> None:
    group = el(seg, 1)
    n = len(seg)
    for i in range(2, n, 3):
        reason = seg[i]
        if not reason:
            continue
        amount = ctx.money(seg[i + 1] if i + 1 < n else "", "CAS")
        qty_text = seg[i + 2] if i + 2 < n else ""
        target.append(Adjustment(group, reason, amount, ctx.optional_money(qty_text, "CAS") if qty_text else None))


def _plb(seg: list[str], out: list[ProviderAdjustment], ctx: TxContext) -> None:
    provider = el(seg, 1)
    period = ctx.day(el(seg, 2), "PLB02")
    for i in range(3, len(seg), 2):
        if not seg[i]:
            continue
        parts = ctx.composite(seg[i])
        out.append(ProviderAdjustment(reason=parts[0], amount=ctx.money(el(seg, i + 1), "PLB"),
                                      reference=parts[1] if len(parts) > 1 else "", provider_id=provider,
                                      fiscal_period_end=period))


def _party(data: dict | None, ctx: TxContext, role: str) -> Party:
    if data is None:
        ctx.flag(f"missing_{role}")
        return Party(name="")
    seg = data["seg"]
    qualifier, identifier = el(seg, 3), el(seg, 4)
    if not identifier and data.get("ref_2u"):
        qualifier, identifier = "2U", data["ref_2u"]
    per = data.get("per")
    contact = None
    if per is not None:
        contact = Contact(name=el(per, 2), qualifier=el(per, 3), number=el(per, 4))
    return Party(name=el(seg, 2), id_qualifier=qualifier, identifier=identifier,
                 address=address(data.get("N3"), data.get("N4")), contact=contact, tax_id=data.get("tax_id", ""))


def _build(ctx: TxContext, bpr, trn, production, parties, claims, plb) -> Remittance:
    if bpr is None:
        ctx.flag("missing_bpr")
        bpr = ["BPR"]
    if trn is None:
        ctx.flag("missing_trn")
        trn = ["TRN"]
    bank = bpr[6:16]
    while bank and not bank[-1]:
        bank.pop()
    payment = Payment(
        amount=ctx.money(el(bpr, 2), "BPR02"), method=el(bpr, 4), trace_number=el(trn, 2), handling=el(bpr, 1),
        credit_debit=el(bpr, 3), format=el(bpr, 5), bank_details=tuple(bank), date=ctx.day(el(bpr, 16), "BPR16"),
        originator_id=el(trn, 3))
    when = payment.date or production
    built = tuple(_claim(c, ctx, when) for c in claims)
    catalog = ctx.catalog
    for adj in plb:
        problem = catalog.flag("plb_reasons", adj.reason, adj.fiscal_period_end or when)
        if problem:
            ctx.flag(problem)
    total = sum((c.paid for c in built), ZERO) - sum((a.amount for a in plb), ZERO)
    if total != payment.amount:
        ctx.flag(f"unbalanced_transaction:bpr={payment.amount},claims_minus_plb={total}")
    return Remittance(payment=payment, payer=_party(parties.get("PR"), ctx, "payer"),
                      payee=_party(parties.get("PE"), ctx, "payee"), claims=built, provider_adjustments=tuple(plb),
                      control_number=ctx.control_number, version=ctx.version, production_date=production,
                      flags=tuple(ctx.flags))


def _code_flags(ctx: TxContext, adjustments, remarks, on: date | None, flags: list[str]) -> None:
    catalog = ctx.catalog
    for adj in adjustments:
        for problem in (catalog.flag("group_codes", adj.group, on), catalog.flag("carc", adj.reason, on)):
            if problem and problem not in flags:
                flags.append(problem)
    for remark in remarks:
        problem = catalog.flag("rarc", remark.code, on)
        if problem and problem not in flags:
            flags.append(problem)


def _claim(c: _Claim, ctx: TxContext, paid_on: date | None) -> ClaimPayment:
    seg = c.seg
    charge = ctx.money(el(seg, 3), "CLP03")
    paid = ctx.money(el(seg, 4), "CLP04")
    flags: list[str] = []
    claim_day = c.dates[0] or c.dates[1]
    lines = []
    cas_total = sum((a.amount for a in c.adjustments), ZERO)
    for ln in c.lines:
        built = _service_line(ln, ctx, claim_day or paid_on)
        cas_total += sum((a.amount for a in built.adjustments), ZERO)
        lines.append(built)
    if charge - paid != cas_total:
        flags.append(f"unbalanced_claim:charge_minus_paid={charge - paid},adjustments={cas_total}")
    on = claim_day or (lines[0].service_from if lines and lines[0].service_from else paid_on)
    _code_flags(ctx, c.adjustments, c.remarks, on, flags)
    people = c.people
    return ClaimPayment(
        patient_control_number=el(seg, 1), status=el(seg, 2), charge=charge, paid=paid,
        patient_responsibility=ctx.optional_money(el(seg, 5), "CLP05"), filing_indicator=el(seg, 6),
        payer_claim_number=el(seg, 7), facility_code=el(seg, 8), frequency_code=el(seg, 9),
        adjustments=tuple(c.adjustments), remarks=tuple(c.remarks), patient=people.get("QC"),
        insured=people.get("IL"), corrected_insured=people.get("74"), rendering_provider=people.get("82"),
        service_from=c.dates[0], service_to=c.dates[1], received_date=c.received, lines=tuple(lines),
        flags=tuple(flags))


def _service_line(ln: _Line, ctx: TxContext, fallback_day: date | None) -> ServiceLine:
    seg = ln.seg
    if len(seg) > 2 and len(seg[1]) == 2 and seg[1].isalpha() and ctx.component not in seg[1]:
        # "SVC*HC*24599*..." — the code slipped into its own element; read it shifted.
        ctx.flag("malformed_svc:shifted")
        procedure = ctx.procedure(seg[1] + ctx.component + seg[2], "SVC01")
        seg = [seg[0], "", *seg[3:]]
    else:
        procedure = ctx.procedure(el(seg, 1), "SVC01")
    charge = ctx.money(el(seg, 2), "SVC02")
    paid = ctx.money(el(seg, 3), "SVC03")
    units_text = el(seg, 5)
    billed = ctx.procedure(el(seg, 6), "SVC06") if el(seg, 6) else None
    flags = ln.flags
    total = sum((a.amount for a in ln.adjustments), ZERO)
    if charge - paid != total:
        flags.append(f"unbalanced_line:charge_minus_paid={charge - paid},adjustments={total}")
    _code_flags(ctx, ln.adjustments, ln.remarks, ln.dates[0] or ln.dates[1] or fallback_day, flags)
    return ServiceLine(
        procedure=procedure, charge=charge, paid=paid,
        units=ctx.optional_money(units_text, "SVC05") if units_text else None, revenue_code=el(seg, 4),
        billed_procedure=billed, service_from=ln.dates[0], service_to=ln.dates[1],
        adjustments=tuple(ln.adjustments), remarks=tuple(ln.remarks), line_control_number=ln.control,
        allowed=ln.allowed, flags=tuple(flags))
