"""era_pull also downloads Availity's 277CA acknowledgments; their rejections reach the billing-edits queue."""
from __future__ import annotations

import hashlib
from datetime import date

import pytest
from sqlalchemy import select

from automations import registry
from core.ingest import ingest_bytes
from core.routing.intake import route_pending
from core.store.models import Claim, EdiFile, Rejection, WorkItem
from fixtures.generator.x12 import claim_files
from test_automations_runs import make_ctx, no_real_totp_waits  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


async def test_era_pull_ingests_each_acknowledgment_once_and_rejections_route(make_ctx, fresh_sandbox, db):  # noqa: F811
    av = fresh_sandbox.availity
    ds = av.state.dataset
    for f in claim_files(ds):  # the practice's own submissions, so rejections link to our claims
        ingest_bytes(db, f.data, filename=f.name, provenance="clearinghouse:test")
    since = date(2026, 9, 25)  # the window holds rejected claims' acknowledgments
    served = {f["name"]: f["sha256"] for f in av.files() if f["kind"] == "277CA" and f["created"] >= since.isoformat()}
    assert served, "the sandbox window must hold a few 277CAs"

    first = await registry.get("era_pull").run(make_ctx(av), {"since": since.isoformat()})
    assert first["acks_listed"] == first["acks_downloaded"] == len(served)
    with db.transaction() as s:
        stored = dict(s.execute(select(EdiFile.filename, EdiFile.sha256).where(EdiFile.filename.in_(served))).all())
        rejected = s.execute(select(Rejection.patient_control_number, Rejection.claim_id)).all()
    assert stored == served  # byte for byte what the portal serves
    assert rejected and all(claim_id is not None for _, claim_id in rejected)
    assert all(ds.outcomes[pcn].rejection is not None for pcn, _ in rejected)

    second = await registry.get("era_pull").run(make_ctx(av), {"since": since.isoformat()})
    assert (second["acks_listed"], second["acks_downloaded"]) == (len(served), 0)
    with db.transaction() as s:
        assert len(s.scalars(select(Rejection.id)).all()) == len(rejected)
        route_pending(s, av.state.today())
        items = s.execute(select(WorkItem.kind, WorkItem.team, WorkItem.claim_id)
                          .where(WorkItem.kind == "rejection")).all()
        linked = set(s.scalars(select(Claim.patient_control_number).where(
            Claim.id.in_([c for _, _, c in items if c is not None]))))
    assert items and {team for _, team, _ in items} == {"billing_edits"}
    assert linked == {pcn for pcn, _ in rejected}


def test_served_file_hashes_are_sha256(fresh_sandbox):
    """The control API's sha256 is the file's own digest (the comparison above relies on it)."""
    av = fresh_sandbox.availity
    f = next(x for x in av.files() if x["kind"] == "277CA")
    from fixtures.portal_kit.files import served_files

    body = next(s for s in served_files(av.state) if s.name == f["name"])
    assert hashlib.sha256(body.data).hexdigest() == f["sha256"]
