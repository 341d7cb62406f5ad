"""Exactly-once without the payer's help: the sandbox's duplicate check is off, its submit POSTs arrive late,
and the portal must still receive each act once. Also: a failure before the click is retried as a new
attempt of the same intent (on another account if the operator says so), and a 5xx at login is retried."""
from __future__ import annotations

import asyncio
import base64
import random
import time
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from automations import intents
from core.config import get_settings
from core.crypto import KeyRing
from core.store.models import Appeal, AuditEvent, Payer, SubmissionIntent, WorkItem
from core.vault import Credentials, Vault
from fleet import reconciler, runs
from fleet.backends import open_fleet, submit
from fleet.config import FleetConfig
from test_fleet_cli import cli  # noqa: F401 - the CLI fixture, shared

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PDF = b"%PDF-1.4\n% exactly once\n" + b"7" * 5000 + b"\n%%EOF\n"
REQUEST_PATH = "/portal/claims/reconsideration"
# The browser gives up on a confirmation after ~10 s (automations.portal_session.TIMEOUT_MS); the POST
# arrives well after that, and after the first reconcile has read the portal's list.
POST_DELAY_S = 25


def _denied_uhc_claims(uhc) -> list[str]:
    ds = uhc.state.dataset
    return [c.id for c in ds.claims if c.payer == "UHC" and ds.outcomes[c.id].appealable
            and ds.outcomes[c.id].kind == "denied" and ds.outcomes[c.id].rejection is None]


def _params(claim: str, key: str) -> dict:
    return {"claim_number": claim, "reason": "Additional Information", "note": "Records attached.",
            "idempotency_key": key, "attachments": [{"name": "records.pdf", "content_b64": base64.b64encode(PDF).decode()}]}


def _received(uhc, claim: str) -> list[dict]:
    return [r for r in uhc.submissions() if r["claim_id"] == claim]


async def _until(predicate, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.25)


def _intent(db, key: str) -> SubmissionIntent:
    with db.transaction() as s:
        return s.scalar(select(SubmissionIntent).where(SubmissionIntent.idempotency_key == key))


@pytest.fixture
async def lab(db, settings, fresh_sandbox):
    keys = KeyRing.load(settings, create=True)
    vault = Vault(db, keys)
    uhc = fresh_sandbox.uhc
    uhc.set_behaviour(duplicate_check=False)  # a payer that accepts duplicates
    for index, alias in ((0, "uhc-a"), (1, "uhc-b")):
        a = uhc.accounts[index]
        vault.add_account(alias=alias, portal="uhc", base_url=uhc.base_url,
                          credentials=Credentials(username=a.username, password=a.password, totp_secret=a.totp_secret))
    config = FleetConfig(max_contexts=1, settle_s=120)
    async with open_fleet(db, settings, keys, config) as backend:
        yield backend, uhc


async def test_a_late_post_is_never_sent_twice_while_it_may_still_arrive(lab, db):
    # Regression (issue 13): with the POST delayed and `payerfleet reconcile` run meanwhile, the intent was
    # judged "not in the portal's list" at once and re-sent: the portal received two POSTs in 3 of 3 trials.
    backend, uhc = lab
    claim = _denied_uhc_claims(uhc)[0]
    uhc.set_faults(post_delay_s=POST_DELAY_S, path_prefix=REQUEST_PATH)
    run_id = await submit(backend, "reconsideration_submit", "uhc-a", _params(claim, "late-1"))
    await backend.run_until_idle()
    assert runs.get_run(db, run_id).error_type == "SubmitOutcomeUnknown"
    assert _intent(db, "late-1").state == "IN_DOUBT" and _received(uhc, claim) == []

    first = await reconciler.reconcile_all(backend)  # the POST is still on its way
    assert first["resubmitted"] == 0 and len(_received(uhc, claim)) <= 1
    await _until(lambda: len(_received(uhc, claim)) == 1, POST_DELAY_S + 10)
    uhc.set_faults()
    second = await reconciler.reconcile_all(backend)
    intent = _intent(db, "late-1")
    [received] = _received(uhc, claim)
    assert second["resubmitted"] == 0
    assert (intent.state, intent.confirmation_number, intent.attempts) == ("SUBMITTED", received["id"], 1)


async def test_the_portal_list_is_read_again_right_before_a_resend(lab, db):
    backend, uhc = lab
    claim = _denied_uhc_claims(uhc)[1]
    uhc.set_faults(post_delay_s=POST_DELAY_S, path_prefix=REQUEST_PATH)
    await submit(backend, "reconsideration_submit", "uhc-a", _params(claim, "late-2"))
    await backend.run_until_idle()
    # A reconciler with too short a settle period called it not received; then the POST arrived after all.
    intents.move(db, _intent(db, "late-2").id, (intents.IN_DOUBT,), intents.SAFE_TO_RETRY)
    await _until(lambda: len(_received(uhc, claim)) == 1, POST_DELAY_S + 10)
    uhc.set_faults()
    [resend] = reconciler.resubmit_safe(db, backend=backend.name)
    await backend.dispatch(resend)
    await backend.run_until_idle()
    run, intent = runs.get_run(db, resend), _intent(db, "late-2")
    [received] = _received(uhc, claim)
    assert (run.state, run.result["submitted"], run.checkpoint) == (runs.SUCCEEDED, False, "portal_list_read")
    assert (intent.state, intent.confirmation_number) == ("SUBMITTED", received["id"])
    with db.transaction() as s:
        how = s.scalar(select(AuditEvent.outcome).where(AuditEvent.record_id == str(intent.id),
                                                        AuditEvent.action == "appeal.submitted"))
    assert how == "found_before_resend"


async def test_a_first_attempt_never_sends_what_the_portal_already_lists(lab, db):
    backend, uhc = lab
    claim = _denied_uhc_claims(uhc)[2]
    done = await submit(backend, "reconsideration_submit", "uhc-a", _params(claim, "by-hand"))
    await backend.run_until_idle()
    assert runs.get_run(db, done).state == runs.SUCCEEDED
    with db.transaction() as s:  # the store forgot it (restored from an old backup): nothing owns that row now
        s.execute(update(SubmissionIntent).where(SubmissionIntent.idempotency_key == "by-hand")
                  .values(confirmation_number=None, state="HUMAN_REVIEW"))
    again = await submit(backend, "reconsideration_submit", "uhc-a", _params(claim, "by-hand-again"))
    await backend.run_until_idle()
    assert runs.get_run(db, again).error_type == "SubmissionNotAllowed"
    assert _intent(db, "by-hand-again").state == "HUMAN_REVIEW" and len(_received(uhc, claim)) == 1


async def test_a_5xx_during_login_is_retried_like_any_read(lab, db):
    # Regression (issue 13): a 5xx during login failed the run; the read retry policy did not cover login.
    backend, uhc = lab
    # The fault middleware's first draw per request decides a 5xx: pick a seed whose first sign-in request fails.
    seed = next(n for n in range(100) if random.Random(n).random() < 0.2)
    uhc.set_faults(error_rate=0.2, seed=seed, path_prefix="/oneid")  # the sign-in and one-time-code pages
    run_id = await submit(backend, "era_pull", "uhc-b", {})
    await backend.run_until_idle()
    run = runs.get_run(db, run_id)
    assert run.state == runs.SUCCEEDED, run.error_message


# -- a failure before the click is retried as a new attempt, on another account if asked ---------------
def test_a_failure_before_the_click_is_retried_on_another_account(cli, db, tmp_path, fresh_sandbox):
    # Regression (issue 13): an intent that ended FAILED_BEFORE_SUBMIT could never be retried (same dedupe
    # key), nor re-pointed at another account.
    uhc = fresh_sandbox.uhc
    uhc.set_behaviour(duplicate_check=False)
    vault = Vault(db, KeyRing.load(get_settings(), create=True))
    for index, alias in ((0, "uhc-a"), (1, "uhc-b")):
        a = uhc.accounts[index]
        vault.add_account(alias=alias, portal="uhc", base_url=uhc.base_url,
                          credentials=Credentials(username=a.username, password=a.password, totp_secret=a.totp_secret))
    claim = _denied_uhc_claims(uhc)[3]
    with db.transaction() as s:
        payer = Payer(code="UHC", name="UnitedHealthcare")
        s.add(payer)
        s.flush()
        item = WorkItem(dedupe_key="t:1", kind="denial", intake_source="835", payer_id=payer.id, category="x",
                        team="appeals", amount=Decimal("10.00"), action="work_today")
        s.add(item)
        s.flush()
        appeal = Appeal(work_item_id=item.id, channel="portal", reason_category="Additional Information",
                        details={"claim_number": claim, "note": "Records attached."})
        s.add(appeal)
        s.flush()
        appeal_id = appeal.id
    uhc.set_hurdles(maintenance="down")  # every page 503s: the run fails before any click
    first = cli("appeal", "submit", str(appeal_id), "--account", "uhc-a")
    key = f"appeal:{appeal_id}:level:1"
    assert "PortalUnavailable" in first.output and _intent(db, key).state == "FAILED_BEFORE_SUBMIT"
    uhc.set_hurdles(maintenance="off")
    second = cli("appeal", "submit", str(appeal_id), "--account", "uhc-b")
    intent = _intent(db, key)
    [received] = _received(uhc, claim)
    assert second.exit_code == 0, second.output
    assert (intent.state, intent.confirmation_number, intent.attempts) == ("SUBMITTED", received["id"], 1)
    assert received["account"] == uhc.accounts[1].username
    # Once sent from an account, the act belongs to it: no new attempt elsewhere.
    again = cli("appeal", "submit", str(appeal_id), "--account", "uhc-a")
    assert again.exit_code == 0 and len(_received(uhc, claim)) == 1


def test_an_attempt_sent_from_one_account_is_never_moved_to_another(db):
    from automations.errors import SubmissionNotAllowed
    from fleet_support import add_account

    a, b = add_account(db, "uhc-a", "uhc"), add_account(db, "uhc-b", "uhc")
    fp = {"kind": "reconsideration", "claim_number": "C1", "reason": "Other"}
    intent = intents.plan(db, key="k", appeal_id=None, account_id=a, fingerprint=fp, run_id="r1")
    intents.begin_attempt(db, intent.id, run_id="r1", account_id=a)
    intents.move(db, intent.id, (intents.SUBMITTING,), intents.IN_DOUBT)
    intents.move(db, intent.id, (intents.IN_DOUBT,), intents.SAFE_TO_RETRY)
    with pytest.raises(SubmissionNotAllowed, match="another account"):
        intents.plan(db, key="k", appeal_id=None, account_id=b, fingerprint=fp, run_id="r2")
    assert intents.plan(db, key="k", appeal_id=None, account_id=a, fingerprint=fp, run_id="r2").attempts == 1
