"""835 remittance reader: one ST..SE into a Remittance, checking balances and codes as flags."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from core.edi.elements import ZERO, TxContext, address, el, person
from core.edi.records import (
    Adjustment, ClaimPayment, Contact, Party, Payment, ProviderAdjustment, Remark, Remittance, ServiceLine,
    fast_constructor,
)

_new_claim = fast_constructor(ClaimPayment)
_new_line = fast_constructor(ServiceLine)
_new_adjustment = fast_constructor(Adjustment)

_LINE_DATES = {"472", "150", "151"}
_UNSEEN = object()
_ENVELOPE = {"ST", "GE", "GS", "IEA", "ISA"}


class _Line:
    __slots__ = ("seg", "dates", "adjustments", "remarks", "control", "allowed", "flags")

    def __init__(self, seg: list[str]):
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
    days = ctx._days
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
            line = _Line(seg)
            claim.lines.append(line)
        elif sid == "DTM":
            if len(seg) < 3:
                ctx.flag("bad_date:DTM")
                continue
            qualifier = seg[1]
            day = days.get(seg[2], _UNSEEN)
            if day is _UNSEEN or day is None:
                day = ctx.day(seg[2], "DTM" + qualifier)
            if line is not None and qualifier in _LINE_DATES:
                if qualifier == "472":
                    line.dates = [day, day]
                else:
                    line.dates[qualifier == "151"] = day
            elif claim is not None and line is None:
                if qualifier in ("232", "233"):
                    claim.dates[qualifier == "233"] = day
                elif qualifier == "050":
                    claim.received = day
            elif claim is None and qualifier == "405":
                production = day
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
    group = seg[1] if len(seg) > 1 else ""
    n = len(seg)
    amounts = ctx._amounts
    for i in range(2, n, 3):
        reason = seg[i]
        if not reason:
            continue
        text = seg[i + 1] if i + 1 < n else ""
        amount = amounts.get(text)
        if amount is None:
            amount = ctx.money(text, "CAS")
        qty_text = seg[i + 2] if i + 2 < n else ""
        target.append(_new_adjustment(group, reason, amount, ctx.money(qty_text, "CAS") if qty_text else None))


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
    for adj in plb:
        problem = ctx.code_flag("plb_reasons", adj.reason, adj.fiscal_period_end or when)
        if problem:
            ctx.flag(problem)
    total = ZERO
    for c in built:
        total += c.paid
    total -= _total(plb)
    if total != payment.amount:
        ctx.flag(f"unbalanced_transaction:bpr={payment.amount},claims_minus_plb={total}")
    return Remittance(payment=payment, payer=_party(parties.get("PR"), ctx, "payer"),
                      payee=_party(parties.get("PE"), ctx, "payee"), claims=built, provider_adjustments=tuple(plb),
                      control_number=ctx.control_number, version=ctx.version, production_date=production,
                      flags=tuple(ctx.flags))


def _code_flags(ctx: TxContext, adjustments, remarks, on: date | None, flags: list[str]) -> None:
    memo = ctx._codes
    for adj in adjustments:
        key = (adj.group, adj.reason, on)
        found = memo.get(key, _UNSEEN)
        if found is _UNSEEN:
            found = memo[key] = tuple(p for p in (ctx.catalog.flag("group_codes", adj.group, on),
                                                 ctx.catalog.flag("carc", adj.reason, on)) if p)
        for problem in found:
            if problem not in flags:
                flags.append(problem)
    for remark in remarks:
        problem = ctx.code_flag("rarc", remark.code, on)
        if problem and problem not in flags:
            flags.append(problem)


def _total(adjustments: list[Adjustment]) -> Decimal:
    total = ZERO
    for a in adjustments:
        total += a.amount
    return total


def _padded(seg: list[str], size: int) -> list[str]:
    return seg if len(seg) >= size else seg + [""] * (size - len(seg))


def _claim(c: _Claim, ctx: TxContext, paid_on: date | None) -> ClaimPayment:
    seg = c.seg
    if len(seg) < 10:
        seg = seg + [""] * (10 - len(seg))
    amounts = ctx._amounts
    charge = amounts.get(seg[3]) or ctx.money(seg[3], "CLP03")
    paid = amounts.get(seg[4]) or ctx.money(seg[4], "CLP04")
    flags: list[str] = []
    claim_day = c.dates[0] or c.dates[1]
    lines = []
    cas_total = _total(c.adjustments)
    for ln in c.lines:
        built = _service_line(ln, ctx, claim_day or paid_on, amounts)
        for a in built.adjustments:
            cas_total += a.amount
        lines.append(built)
    if charge - paid != cas_total:
        flags.append(f"unbalanced_claim:charge_minus_paid={charge - paid},adjustments={cas_total}")
    if c.adjustments or c.remarks:
        on = claim_day or (lines[0].service_from if lines and lines[0].service_from else paid_on)
        _code_flags(ctx, c.adjustments, c.remarks, on, flags)
    people = c.people
    return _new_claim(
        seg[1], seg[2], charge, paid, (amounts.get(seg[5]) or ctx.money(seg[5], "CLP05")) if seg[5] else None,
        seg[6], seg[7], seg[8], seg[9], tuple(c.adjustments), tuple(c.remarks), people.get("QC"), people.get("IL"),
        people.get("74"), people.get("82"), c.dates[0], c.dates[1], c.received, tuple(lines), tuple(flags))


def _service_line(ln: _Line, ctx: TxContext, fallback_day: date | None, amounts: dict) -> ServiceLine:
    seg = ln.seg
    if len(seg) < 7:
        seg = seg + [""] * (7 - len(seg))
    if len(seg[1]) == 2 and seg[1].isalpha() and seg[2]:
        # "SVC*HC*24599*..." — the code slipped into its own element; read it shifted.
        ctx.flag("malformed_svc:shifted")
        procedure = ctx.procedure(seg[1] + ctx.component + seg[2], "SVC01")
        seg = _padded([seg[0], "", *seg[3:]], 7)
    else:
        procedure = ctx._procedures.get(seg[1]) or ctx.procedure(seg[1], "SVC01")
    charge = amounts.get(seg[2]) or ctx.money(seg[2], "SVC02")
    paid = amounts.get(seg[3]) or ctx.money(seg[3], "SVC03")
    units_text = seg[5]
    billed = ctx.procedure(seg[6], "SVC06") if seg[6] else None
    flags = ln.flags
    adjustments = ln.adjustments
    total = _total(adjustments)
    if charge - paid != total:
        flags.append(f"unbalanced_line:charge_minus_paid={charge - paid},adjustments={total}")
    if adjustments or ln.remarks:
        _code_flags(ctx, adjustments, ln.remarks, ln.dates[0] or ln.dates[1] or fallback_day, flags)
    return _new_line(
        procedure, charge, paid, (amounts.get(units_text) or ctx.money(units_text, "SVC05")) if units_text else None,
        seg[4], billed, ln.dates[0], ln.dates[1], tuple(adjustments), tuple(ln.remarks), ln.control, ln.allowed,
        tuple(flags))
