"""835 remittance reader: one ST..SE into a Remittance, checking balances and codes as flags.

The segment walk gathers each claim's raw pieces (in small lists, the cheapest container Python
builds) and turns the claim into frozen records as soon as its loop ends, so a big file's raw
segments never pile up. Code validity is judged at the payment date when a line or claim has
none, so a claim that ends before any BPR is kept raw and built at SE (as are all after it).
A 10,000-claim file builds about 60,000 records, so the hot paths below are inlined on purpose.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from core.edi.elements import ZERO, TxContext, address, el, parse_day, person
from core.edi.records import (
    Adjustment, ClaimPayment, Contact, Party, Payment, Person, ProviderAdjustment, Remark, Remittance, ServiceLine,
    fast_constructor,
)

_new_claim = fast_constructor(ClaimPayment)
_new_line = fast_constructor(ServiceLine)
_new_adjustment = fast_constructor(Adjustment)
_new_remark = fast_constructor(Remark)
_new_person = fast_constructor(Person)

_LINE_DATES = {"472", "150", "151"}
_UNSEEN = object()
_ENVELOPE = {"ST", "GE", "GS", "IEA", "ISA"}

# Literal indices in the hot branches below follow these layouts.
# Raw claim gathered by the walk: [CLP seg, adjustments, remarks, from, to, received, lines, then the first
# NM1 person of each role: patient QC, insured IL, corrected insured 74, rendering provider 82].
# Adjustments and remarks are tuples, () until their first entry (most stay empty), so records take them as they are.
_C_SEG, _C_ADJ, _C_REM, _C_FROM, _C_TO, _C_RECEIVED, _C_LINES = range(7)
_C_PERSON = {"QC": 7, "IL": 8, "74": 9, "82": 10}
# Raw service line: [SVC seg, from, to, adjustments, remarks, REF*6R control, AMT*B6 allowed].
_L_SEG, _L_FROM, _L_TO, _L_ADJ, _L_REM, _L_CONTROL, _L_ALLOWED = range(7)


def read_835(ctx: TxContext) -> Remittance:
    """Consume segments up to SE; everything odd becomes a flag, only truncation raises."""
    bpr: list[str] | None = None
    trn: list[str] | None = None
    production: date | None = None
    parties: dict[str, dict] = {}
    party: dict | None = None
    # Claims built as they end; raw ones left for SE; TxContext flags their building raised.
    built: list[ClaimPayment] = []
    deferred: list[list] = []
    late: list[str] = []
    build_claim = _claim_builder(ctx)
    paid_on: object = _UNSEEN
    flags = ctx.flags
    claim: list | None = None
    line: list | None = None
    plb: list[ProviderAdjustment] = []
    tok = ctx.tokenizer
    # ST was the tokenizer's last segment; SE's count comes from its position, not a per-segment tally.
    st_position = tok.position
    days = ctx._days
    amounts = ctx._amounts
    cas_memo: dict[tuple, Adjustment] = {}
    # Branches are ordered by how often the segment occurs in a real 835 (DTM, SVC, CLP, NM1, CAS).
    for seg in ctx.segments:
        sid = seg[0]
        if sid == "DTM":
            if len(seg) < 3:
                ctx.flag("bad_date:DTM")
                continue
            qualifier = seg[1]
            day = days.get(seg[2])
            if day is None:  # not seen yet, or a bad date that must be flagged again
                day = ctx.day(seg[2], "DTM" + qualifier)
            if line is not None and qualifier in _LINE_DATES:
                if qualifier == "472":
                    line[1] = line[2] = day
                elif qualifier == "150":
                    line[1] = day
                else:
                    line[2] = day
            elif claim is not None and line is None:
                if qualifier == "232":
                    claim[3] = day
                elif qualifier == "233":
                    claim[4] = day
                elif qualifier == "050":
                    claim[_C_RECEIVED] = day
            elif claim is None and qualifier == "405":
                production = day
        elif sid == "SVC":
            if claim is None:
                ctx.flag("svc_outside_claim")
                continue
            line = [seg, None, None, (), (), "", None]
            claim[6].append(line)
        elif sid == "CLP":
            if claim is not None:
                if bpr is None or deferred:
                    deferred.append(claim)
                else:
                    if paid_on is _UNSEEN:
                        paid_on = parse_day(el(bpr, 16)) or production
                    # Flags raised now belong after the header's (as if built at SE): set them aside.
                    mark = len(flags)
                    built.append(build_claim(claim, paid_on))
                    if len(flags) > mark:
                        late.extend(flags[mark:])
                        del flags[mark:]
            claim = [seg, (), (), None, None, None, [], None, None, None, None]
            line = None
        elif sid == "NM1":
            if claim is not None:
                slot = _C_PERSON.get(seg[1]) if len(seg) > 1 else None
                if slot is not None and claim[slot] is None:
                    claim[slot] = (_new_person(seg[3], seg[4], seg[5], seg[8], seg[9], seg[2], seg[7], None, "", None)
                                   if len(seg) >= 10 else person(seg))
        elif sid == "CAS":
            if line is None and claim is None:
                ctx.flag("cas_outside_claim")
                continue
            if len(seg) == 4 and seg[2]:
                # The common single-triplet CAS without a quantity: one shared (adjustment,) per distinct text.
                key = (seg[1], seg[2], seg[3])
                found = cas_memo.get(key)
                if found is None:
                    amount = amounts.get(seg[3])
                    if amount is None:
                        amount = ctx.money(seg[3], "CAS")
                    found = (_new_adjustment(seg[1], seg[2], amount, None),)
                    if len(cas_memo) < 50_000:
                        cas_memo[key] = found
            else:
                found = _cas(seg, ctx)
            if line is not None:
                line[3] = line[3] + found if line[3] else found
            else:
                claim[1] = claim[1] + found if claim[1] else found
        elif sid == "REF":
            if line is not None and el(seg, 1) in ("6R", "LU") and not line[_L_CONTROL]:
                line[_L_CONTROL] = el(seg, 2)
            elif claim is None and party is not None:
                if el(seg, 1) == "TJ" and "tax_id" not in party:
                    party["tax_id"] = el(seg, 2)
                elif el(seg, 1) == "2U":
                    party.setdefault("ref_2u", el(seg, 2))
        elif sid == "AMT":
            if line is not None and el(seg, 1) == "B6":
                line[_L_ALLOWED] = ctx.optional_money(el(seg, 2), "AMTB6")
        elif sid == "LQ":
            if line is not None and el(seg, 1) == "HE" and el(seg, 2):
                line[_L_REM] = (*line[_L_REM], _new_remark("LQ", seg[2]))
        elif sid == "MOA" or sid == "MIA":
            if claim is not None:
                positions = (3, 4, 5, 6, 7) if sid == "MOA" else (5, 20, 21, 22, 23)
                claim[_C_REM] = (*claim[_C_REM], *(_new_remark(sid, el(seg, i)) for i in positions if el(seg, i)))
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
            ctx.check_se(seg, tok.position - st_position + 1)
            if claim is not None:
                deferred.append(claim)
            return _build(ctx, bpr, trn, production, parties, build_claim, built, late, deferred, plb)
        elif sid == "LX":
            line = None
        elif sid in _ENVELOPE:
            raise ctx.truncated("835")
    raise ctx.truncated("835")


def _cas(seg: list[str], ctx: TxContext) -> tuple[Adjustment, ...]:
    group = seg[1] if len(seg) > 1 else ""
    found = []
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
        found.append(_new_adjustment(group, reason, amount, ctx.money(qty_text, "CAS") if qty_text else None))
    return tuple(found)


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


def _build(ctx: TxContext, bpr, trn, production, parties, build_claim, built, late, deferred, plb) -> Remittance:
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
    for text in late:
        ctx.flag(text)
    for c in deferred:
        built.append(build_claim(c, when))
    built = tuple(built)
    for adj in plb:
        problem = ctx.code_flag("plb_reasons", adj.reason, adj.fiscal_period_end or when)
        if problem:
            ctx.flag(problem)
    total = ZERO
    for c in built:
        total += c.paid
    plb_total = ZERO
    for a in plb:
        plb_total += a.amount
    total -= plb_total
    if total != payment.amount:
        ctx.flag(f"unbalanced_transaction:bpr={payment.amount},claims_minus_plb={total}")
    return Remittance(payment=payment, payer=_party(parties.get("PR"), ctx, "payer"),
                      payee=_party(parties.get("PE"), ctx, "payee"), claims=built, provider_adjustments=tuple(plb),
                      control_number=ctx.control_number, version=ctx.version, production_date=production,
                      flags=tuple(ctx.flags))


def _claim_builder(ctx: TxContext) -> Callable[[list, date | None], ClaimPayment]:
    """A function from a raw claim (and the payment date) to its ClaimPayment, memoising code checks."""
    amounts = ctx._amounts
    procedures = ctx._procedures
    money = ctx.money
    catalog = ctx.catalog
    # (group, reason, date) -> the catalog's flags for that adjustment, () when it is fine.
    memo: dict[tuple, tuple[str, ...]] = {}

    def code_flags(adjustments, remarks, on: date | None, flags: list[str]) -> None:
        for adj in adjustments:
            key = (adj.group, adj.reason, on)
            found = memo.get(key)
            if found is None:
                found = memo[key] = tuple(p for p in (catalog.flag("group_codes", adj.group, on),
                                                      catalog.flag("carc", adj.reason, on)) if p)
            for problem in found:
                if problem not in flags:
                    flags.append(problem)
        for remark in remarks:
            problem = ctx.code_flag("rarc", remark.code, on)
            if problem and problem not in flags:
                flags.append(problem)

    def claim(c: list, paid_on: date | None) -> ClaimPayment:
        seg = c[0]
        if len(seg) < 10:
            seg = seg + [""] * (10 - len(seg))
        charge = amounts.get(seg[3])
        if charge is None:
            charge = money(seg[3], "CLP03")
        paid = amounts.get(seg[4])
        if paid is None:
            paid = money(seg[4], "CLP04")
        flags: list[str] = []
        claim_from, claim_to = c[3], c[4]
        claim_day = claim_from or claim_to
        fallback_day = claim_day or paid_on
        adjustments = c[1]
        remarks = c[2]
        cas_total = ZERO
        for a in adjustments:
            cas_total += a.amount
        lines = []
        for ln in c[6]:
            # --- one service line (2110) ---
            lseg = ln[0]
            if len(lseg) < 6:
                lseg = lseg + [""] * (6 - len(lseg))
            text = lseg[1]
            if len(text) == 2 and text.isalpha() and lseg[2]:
                # "SVC*HC*24599*..." — the code slipped into its own element; read it shifted.
                ctx.flag("malformed_svc:shifted")
                procedure = ctx.procedure(text + ctx.component + lseg[2], "SVC01")
                lseg = _padded([lseg[0], "", *lseg[3:]], 6)
            else:
                procedure = procedures.get(text) or ctx.procedure(text, "SVC01")
            line_charge = amounts.get(lseg[2])
            if line_charge is None:
                line_charge = money(lseg[2], "SVC02")
            line_paid = amounts.get(lseg[3])
            if line_paid is None:
                line_paid = money(lseg[3], "SVC03")
            # SVC06 is usually absent, so the segment is padded to SVC05 only.
            billed = ctx.procedure(lseg[6], "SVC06") if len(lseg) > 6 and lseg[6] else None
            units_text = lseg[5]
            if units_text:
                units = amounts.get(units_text)
                if units is None:
                    units = money(units_text, "SVC05")
            else:
                units = None
            line_adjustments = ln[3]
            line_remarks = ln[4]
            line_flags: list[str] = []
            if len(line_adjustments) == 1:
                total = line_adjustments[0].amount
            else:
                total = ZERO
                for a in line_adjustments:
                    total += a.amount
            cas_total += total
            if line_charge - line_paid != total:
                line_flags.append(f"unbalanced_line:charge_minus_paid={line_charge - line_paid},adjustments={total}")
            if line_adjustments or line_remarks:
                on = ln[1] or ln[2] or fallback_day
                if len(line_adjustments) == 1 and not line_remarks:
                    # The usual line: one adjustment whose codes were already found fine on that date.
                    a = line_adjustments[0]
                    found = memo.get((a.group, a.reason, on))
                    if found is None or found:
                        code_flags(line_adjustments, line_remarks, on, line_flags)
                else:
                    code_flags(line_adjustments, line_remarks, on, line_flags)
            lines.append(_new_line(
                procedure, line_charge, line_paid, units, lseg[4], billed, ln[1], ln[2],
                line_adjustments, line_remarks,
                ln[5], ln[6], tuple(line_flags) if line_flags else ()))
        if charge - paid != cas_total:
            flags.append(f"unbalanced_claim:charge_minus_paid={charge - paid},adjustments={cas_total}")
        if adjustments or remarks:
            on = claim_day or (lines[0].service_from if lines and lines[0].service_from else paid_on)
            code_flags(adjustments, remarks, on, flags)
        responsibility = None
        if seg[5]:
            responsibility = amounts.get(seg[5])
            if responsibility is None:
                responsibility = money(seg[5], "CLP05")
        return _new_claim(
            seg[1], seg[2], charge, paid, responsibility, seg[6], seg[7], seg[8], seg[9],
            adjustments, remarks,
            c[7], c[8], c[9], c[10], claim_from, claim_to, c[5],
            tuple(lines), tuple(flags) if flags else ())

    return claim


def _padded(seg: list[str], size: int) -> list[str]:
    return seg if len(seg) >= size else seg + [""] * (size - len(seg))
