"""277CA (005010X214) reader: batch statuses at receiver/provider level and claim/line statuses."""
from __future__ import annotations

from datetime import date, datetime

from core.edi.elements import TxContext, el, person
from core.edi.records import (
    Acknowledgment, BatchStatus, ClaimStatus, LineStatus, Party, Status, StatusCode,
)
from core.edi.segments import parse_date_range

_ENVELOPE = {"ST", "GE", "GS", "IEA", "ISA"}
_QTY = {"90": "accepted_quantity", "QA": "accepted_quantity", "AA": "rejected_quantity",
        "QC": "rejected_quantity"}
_AMT = {"YU": "accepted_amount", "YY": "rejected_amount"}


def _org(seg: list[str]) -> Party:
    name = el(seg, 3)
    if el(seg, 2) == "1" and el(seg, 4):
        name = f"{name} {el(seg, 4)}"
    return Party(name=name, id_qualifier=el(seg, 8), identifier=el(seg, 9))


def read_277ca(ctx: TxContext) -> Acknowledgment:
    """Consume segments up to SE into an Acknowledgment."""
    header: dict = {"payer": None, "trace": "", "receipt": None, "process": None, "bht": ["BHT"]}
    batches: list[dict] = []
    claims: list[dict] = []
    level = ""
    batch: dict | None = None
    claim: dict | None = None
    line: dict | None = None
    provider_id = ""
    count = 1
    for seg in ctx.segments:
        count += 1
        sid = seg[0]
        if sid == "STC":
            status = _status(seg, ctx)
            target = line or claim or batch
            if target is None:
                ctx.flag("stc_outside_loop")
            else:
                target["statuses"].append(status)
        elif sid == "HL":
            level = el(seg, 3)
            batch = claim = line = None
            if level in ("21", "19"):
                batch = {"level": "receiver" if level == "21" else "provider", "party": Party(name=""),
                         "trace_number": "", "statuses": []}
                batches.append(batch)
            elif level == "PT":
                claim = {"statuses": [], "lines": [], "refs": {}, "dates": (None, None), "pcn": "",
                         "patient": None, "provider": provider_id}
                claims.append(claim)
            elif level != "20":
                ctx.flag(f"unexpected_hl_level:{level[:3]}")
        elif sid == "NM1":
            if level == "20" and header["payer"] is None:
                header["payer"] = _org(seg)
            elif batch is not None:
                batch["party"] = _org(seg)
                if level == "19":
                    provider_id = el(seg, 9)
            elif claim is not None and line is None:
                claim["patient"] = person(seg)
        elif sid == "TRN":
            if level == "20":
                header["trace"] = el(seg, 2)
            elif batch is not None:
                batch["trace_number"] = el(seg, 2)
            elif claim is not None:
                claim["pcn"] = el(seg, 2)
        elif sid == "SVC":
            if claim is None:
                ctx.flag("svc_outside_claim")
                continue
            line = {"seg": seg, "statuses": [], "control": "", "dates": (None, None)}
            claim["lines"].append(line)
        elif sid == "REF":
            if line is not None:
                if el(seg, 1) == "FJ":
                    line["control"] = el(seg, 2)
            elif claim is not None:
                claim["refs"].setdefault(el(seg, 1), el(seg, 2))
        elif sid == "DTP":
            qualifier = el(seg, 1)
            if qualifier == "472":
                dates = parse_date_range(el(seg, 2), el(seg, 3))
                if dates[0] is None:
                    ctx.flag("bad_date:DTP472")
                (line or claim or {})["dates"] = dates
            elif level == "20" and qualifier in ("050", "009"):
                header["receipt" if qualifier == "050" else "process"] = ctx.day(el(seg, 3), "DTP" + qualifier)
        elif sid == "QTY":
            if batch is not None and el(seg, 1) in _QTY:
                try:
                    batch[_QTY[el(seg, 1)]] = int(el(seg, 2).split(".")[0])
                except ValueError:
                    ctx.flag("bad_quantity:QTY")
        elif sid == "AMT":
            if batch is not None and el(seg, 1) in _AMT:
                batch[_AMT[el(seg, 1)]] = ctx.money(el(seg, 2), "AMT")
        elif sid == "BHT":
            header["bht"] = seg
        elif sid == "SE":
            ctx.check_se(seg, count)
            return _build(ctx, header, batches, claims)
        elif sid in _ENVELOPE:
            break
    raise ctx.truncated("277")


def _status(seg: list[str], ctx: TxContext) -> Status:
    codes = []
    for i in (1, 10, 11):
        text = el(seg, i)
        if text:
            parts = ctx.composite(text)
            codes.append(StatusCode(parts[0], parts[1] if len(parts) > 1 else "", parts[2] if len(parts) > 2 else ""))
    on = ctx.day(el(seg, 2), "STC02")
    for code in codes:
        for kind, value in (("claim_status_categories", code.category), ("claim_status_codes", code.status)):
            problem = value and ctx.catalog.flag(kind, value, on)
            if problem:
                ctx.flag(problem)
    amount = el(seg, 4)
    return Status(codes=tuple(codes), effective_date=on, action_code=el(seg, 3),
                  amount=ctx.money(amount, "STC04") if amount else None, free_text=el(seg, 12))


def _build(ctx: TxContext, header: dict, batches: list[dict], claims: list[dict]) -> Acknowledgment:
    bht = header["bht"]
    created_day = ctx.day(el(bht, 4), "BHT04")
    created = _datetime(created_day, el(bht, 5))
    built_batches = tuple(
        BatchStatus(level=b["level"], party=b["party"], trace_number=b["trace_number"],
                    statuses=tuple(b["statuses"]), accepted_quantity=b.get("accepted_quantity"),
                    rejected_quantity=b.get("rejected_quantity"), accepted_amount=b.get("accepted_amount"),
                    rejected_amount=b.get("rejected_amount"))
        for b in batches)
    built_claims = []
    for c in claims:
        if not c["pcn"]:
            ctx.flag("claim_without_trn")
        lines = []
        for ln in c["lines"]:
            seg = ln["seg"]
            units = el(seg, 7)
            lines.append(LineStatus(
                procedure=ctx.procedure(el(seg, 1), "SVC01"), charge=ctx.money(el(seg, 2), "SVC02"),
                statuses=tuple(ln["statuses"]), units=ctx.money(units, "SVC07") if units else None,
                revenue_code=el(seg, 4), line_control_number=ln["control"], service_from=ln["dates"][0],
                service_to=ln["dates"][1]))
        refs = c["refs"]
        built_claims.append(ClaimStatus(
            patient_control_number=c["pcn"], statuses=tuple(c["statuses"]), patient=c["patient"],
            billing_provider_id=c["provider"], payer_claim_number=refs.get("1K", ""),
            clearinghouse_trace=refs.get("D9", ""), bill_type=refs.get("BLT", ""), service_from=c["dates"][0],
            service_to=c["dates"][1], lines=tuple(lines)))
    if header["payer"] is None:
        ctx.flag("missing_payer")
    return Acknowledgment(
        payer=header["payer"] or Party(name=""), reference=el(bht, 3), created=created,
        receipt_date=header["receipt"], process_date=header["process"], payer_trace=header["trace"],
        batches=built_batches, claims=tuple(built_claims), control_number=ctx.control_number,
        version=ctx.version, flags=tuple(ctx.flags))


def _datetime(day: date | None, hhmm: str) -> datetime:
    if day is None:
        return datetime(1900, 1, 1)
    digits = hhmm if hhmm.isdigit() else ""
    hour = int(digits[0:2]) if len(digits) >= 2 else 0
    minute = int(digits[2:4]) if len(digits) >= 4 else 0
    second = int(digits[4:6]) if len(digits) >= 6 else 0
    try:
        return datetime(day.year, day.month, day.day, hour, minute, second)
    except ValueError:
        return datetime(day.year, day.month, day.day)
