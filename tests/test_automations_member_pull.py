"""claim_status_pull over stored claims: one member search per (payer, member, date of birth), evidence per page."""
from __future__ import annotations

import dataclasses
from collections import Counter

import pytest
from sqlalchemy import select

from automations import registry
from core.store.models import Claim, ClaimStatusEvent, Payer
from fixtures.portal_kit import claims_view
from fixtures.uhc.claims import uhc_status
from test_automations_runs import make_ctx, no_real_totp_waits  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

PAGE_SIZE = 3


class EvidenceSpy:
    """Counts captures by step and passes them on to the real recorder."""

    def __init__(self, inner):
        self.inner, self.steps = inner, Counter()

    async def capture_page(self, page, step: str, **kw):
        self.steps[step] += 1
        return await self.inner.capture_page(page, step, **kw)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def pick_claims(handle):
    """The two busiest members on this portal, a member with a rejected claim, and one claim without a member."""
    ds = handle.state.dataset
    uhc = handle.name == "uhc"
    mine = [c for c in ds.claims if (c.payer == "UHC") == uhc]
    counts = Counter((c.patient_id, c.payer) for c in mine)
    members = [key for key, n in counts.most_common(2)]
    rejected = next(c for c in mine if ds.outcomes[c.id].rejection is not None
                    and (c.patient_id, c.payer) not in members)
    members.append((rejected.patient_id, rejected.payer))
    grouped = [c for c in mine if (c.patient_id, c.payer) in members]
    lone = next(c for c in mine if (c.patient_id, c.payer) not in members)
    return members, grouped, lone, rejected


def store(db, handle, grouped, lone) -> None:
    ds = handle.state.dataset
    with db.transaction() as s:
        payers = {}
        for c in [*grouped, lone]:
            if c.payer not in payers:
                payers[c.payer] = Payer(code=c.payer, name=c.payer.title())
                s.add(payers[c.payer])
                s.flush()
            patient = ds.patient(c.patient_id)
            with_member = c is not lone
            s.add(Claim(payer_id=payers[c.payer].id, patient_control_number=c.id, billed_amount=c.charge,
                        dos_from=c.dos_from, dos_to=c.dos_to,
                        member_id=patient.member_id if with_member else None,
                        patient_dob=patient.dob if with_member else None))


@pytest.mark.parametrize("name", ["availity", "uhc"])
async def test_pull_searches_each_member_once_and_records_each_claim_once(make_ctx, fresh_sandbox, db, name):  # noqa: F811
    handle = fresh_sandbox.portals[name]
    handle.set_behaviour(page_size=PAGE_SIZE)
    members, grouped, lone, rejected = pick_claims(handle)
    store(db, handle, grouped, lone)
    claims = [*grouped, lone]
    frm, to = min(c.dos_from for c in claims), max(c.dos_from for c in claims)
    params = {"service_from": frm.isoformat(), "service_to": to.isoformat()}
    ctx = make_ctx(handle)
    spy = EvidenceSpy(ctx.evidence)
    progress = []
    summary = await registry.get("claim_status_pull").run(
        dataclasses.replace(ctx, evidence=spy, progress=lambda *event: progress.append(event)), params)

    per_member = Counter((c.patient_id, c.payer) for c in grouped)
    # Alone: the claim without a member, and each claim the list shows only as "Rejected".
    rejected_listed = [c for c in grouped if handle.state.dataset.outcomes[c.id].rejection is not None]
    assert summary == {"looked_up": len(claims), "recorded": len(claims), "unchanged": 0, "not_found": 0,
                       "member_searches": len(members), "single_lookups": 1 + len(rejected_listed)}
    assert spy.steps["results_page"] == sum(-(-per_member[m] // PAGE_SIZE) for m in members)
    assert spy.steps["claim_read"] == 1 + len(rejected_listed)
    # Progress counts the claims settled, by each search and each single lookup, up to all of them.
    assert {unit for unit, _, _ in progress} == {"claims"} and {total for *_, total in progress} == {len(claims)}
    done = [d for _, d, _ in progress]
    assert done == sorted(done) and done[-1] == len(claims)
    assert len(progress) == len(members) + 1 + len(rejected_listed)

    with db.transaction() as s:
        events = s.scalars(select(ClaimStatusEvent)).all()
        numbers = Counter(e.patient_control_number for e in events)
        by_number = {e.patient_control_number: (e.status_text, e.category, e.billed, e.paid, e.claim_id)
                     for e in events}
    assert numbers == Counter(c.id for c in claims)
    for c in grouped:
        v = claims_view.view(handle.state, c.id)
        status, category, billed, paid, claim_id = by_number[c.id]
        assert claim_id is not None and billed == c.charge
        if c in rejected_listed:
            assert category[:2] in ("A3", "A6", "A7", "A8")
        else:
            assert status == (uhc_status(v) if name == "uhc" else v.status) and paid == v.paid
    assert by_number[rejected.id][1][:2] in ("A3", "A6", "A7", "A8")

    again = await registry.get("claim_status_pull").run(make_ctx(handle), params)
    assert again == {"looked_up": len(claims), "recorded": 0, "unchanged": len(claims), "not_found": 0,
                     "member_searches": len(members), "single_lookups": 1 + len(rejected_listed)}
