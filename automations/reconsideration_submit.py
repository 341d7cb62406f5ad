"""Submit a reconsideration exactly once (DESIGN §5): intent PLANNED -> SUBMITTING -> SUBMITTED.

SUBMITTING is committed before the click. Anything that goes wrong after the click without a
confirmation leaves the intent IN_DOUBT for the reconciler, which reads the portal's own list
(AppealSubmission.list_submitted) and matches rows on `fingerprint`. Nothing here ever retries
a click; only the form preparation before it goes through the read retry.
"""
from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from automations.base import RunContext
from automations.errors import InvalidParams, SubmissionNotAllowed
from automations.portal_session import checkpoint, open_session
from core import audit
from core.store.models import Appeal, PayerTouch, SubmissionIntent, utcnow
from portals.capabilities import (
    AppealRequest,
    AppealSubmission,
    Attachment,
    SubmissionConfirmation,
    appeal_fingerprint,
)
from portals.errors import PortalError, SubmitOutcomeUnknown

log = structlog.get_logger()

# Intent states from which a new attempt may start; SUBMITTING / IN_DOUBT / HUMAN_REVIEW never.
STARTABLE = ("PLANNED", "FAILED_BEFORE_SUBMIT", "SAFE_TO_RETRY")
# Days to the follow-up of a portal submission (seed: 14 days portal, 30 days mail).
PORTAL_FOLLOW_UP_DAYS = 14


class AttachmentRef(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str
    media_type: str = "application/pdf"
    path: str | None = None
    content_b64: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> "AttachmentRef":
        if (self.path is None) == (self.content_b64 is None):
            raise ValueError(f"attachment {self.name!r}: give exactly one of path or content_b64")
        return self

    def load(self) -> Attachment:
        data = Path(self.path).read_bytes() if self.path else base64.b64decode(self.content_b64 or "")
        return Attachment(self.name, data, self.media_type)


class ReconsiderationParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    claim_number: str
    reason: str
    note: str
    attachments: tuple[AttachmentRef, ...] = ()
    payer: str = ""
    # "reconsideration" or "appeal" where the portal distinguishes them (Availity disputes).
    kind: str = "reconsideration"
    contact_name: str = ""
    contact_phone: str = ""
    appeal_id: int | None = None
    level: int = 1
    # Defaults to "appeal:<appeal_id>:level:<level>"; required when there is no appeal row.
    idempotency_key: str | None = None

    @model_validator(mode="after")
    def _key(self) -> "ReconsiderationParams":
        if self.idempotency_key is None and self.appeal_id is None:
            raise ValueError("an idempotency_key or an appeal_id is required")
        return self

    @property
    def key(self) -> str:
        return self.idempotency_key or f"appeal:{self.appeal_id}:level:{self.level}"

    def request(self, default_contact: str) -> AppealRequest:
        return AppealRequest(self.claim_number, self.reason, self.note, tuple(a.load() for a in self.attachments),
                             self.payer, self.kind, self.contact_name or default_contact, self.contact_phone)


def plan_intent(ctx: RunContext, p: ReconsiderationParams) -> tuple[int, str, str | None]:
    """The intent for this act, created PLANNED if new; returns (id, state, confirmation)."""
    fingerprint = appeal_fingerprint(p.claim_number, p.reason, p.kind)
    for _ in range(2):
        try:
            with ctx.db.transaction() as s:
                intent = s.scalar(select(SubmissionIntent).where(SubmissionIntent.idempotency_key == p.key))
                if intent is None:
                    intent = SubmissionIntent(idempotency_key=p.key, appeal_id=p.appeal_id, account_id=ctx.account.id,
                                              state="PLANNED", fingerprint=fingerprint, run_id=ctx.run_id)
                    s.add(intent)
                    s.flush()
                elif intent.fingerprint != fingerprint:
                    raise InvalidParams(f"intent {p.key!r} exists for a different claim or reason")
                return intent.id, intent.state, intent.confirmation_number
        except IntegrityError:
            continue  # another run created it between our read and insert: read it again
    raise SubmissionNotAllowed(f"intent {p.key!r} could not be planned")


def move(ctx: RunContext, intent_id: int, allowed: tuple[str, ...], to: str, **values: Any) -> None:
    """Compare-and-set the intent's state in its own committed transaction."""
    with ctx.db.transaction() as s:
        changed = s.execute(update(SubmissionIntent)
                            .where(SubmissionIntent.id == intent_id, SubmissionIntent.state.in_(allowed))
                            .values(state=to, updated_at=utcnow(), **values)).rowcount
        if changed != 1:
            current = s.scalar(select(SubmissionIntent.state).where(SubmissionIntent.id == intent_id))
            raise SubmissionNotAllowed(f"intent {intent_id} is {current}, not one of {allowed}; refusing to submit")


def record_submitted(ctx: RunContext, intent_id: int, p: ReconsiderationParams, conf: SubmissionConfirmation) -> None:
    """SUBMITTED plus the appeal's tracking fields, atomically."""
    submitted_on = conf.submitted_on or ctx.today
    with ctx.db.transaction() as s:
        changed = s.execute(update(SubmissionIntent)
                            .where(SubmissionIntent.id == intent_id, SubmissionIntent.state == "SUBMITTING")
                            .values(state="SUBMITTED", confirmation_number=conf.confirmation_number,
                                    submitted_at=utcnow(), updated_at=utcnow())).rowcount
        if changed != 1:
            raise SubmissionNotAllowed(f"intent {intent_id} left SUBMITTING while this run held it")
        if p.appeal_id is not None:
            appeal = s.get(Appeal, p.appeal_id)
            if appeal is not None:
                appeal.state = "submitted"
                appeal.details = {**(appeal.details or {}), "confirmation_number": conf.confirmation_number,
                                  "submitted_on": submitted_on.isoformat(), "intent_id": intent_id}
                s.add(PayerTouch(work_item_id=appeal.work_item_id, appeal_id=appeal.id, submitted_on=submitted_on,
                                 confirmation_number=conf.confirmation_number, channel="portal",
                                 follow_up_on=submitted_on + timedelta(days=PORTAL_FOLLOW_UP_DAYS),
                                 next_action="check appeal status"))
        audit.record(s, actor=f"run:{ctx.run_id}", action="appeal.submitted", record_type="submission_intent",
                     record_id=intent_id)


class ReconsiderationSubmit:
    name = "reconsideration_submit"
    checkpoints = ("intent_planned", "session_open", "form_filled", "before_submit_click",
                   "after_submit_click", "submitted")

    async def run(self, ctx: RunContext, params: dict[str, Any]) -> dict[str, Any]:
        try:
            p = ReconsiderationParams.model_validate(params)
            # Forms that require a contact get the account's billing office unless the run names a person.
            request = p.request(default_contact=f"{ctx.account.alias} billing office")
        except (ValueError, OSError) as exc:
            raise InvalidParams(f"reconsideration_submit: {exc}") from exc
        intent_id, state, confirmation = plan_intent(ctx, p)
        if state == "SUBMITTED":
            return {"intent_id": intent_id, "state": state, "confirmation_number": confirmation, "submitted": False}
        if state not in STARTABLE:
            raise SubmissionNotAllowed(f"intent {intent_id} is {state}: only the reconciler may resolve it")
        ctx.checkpoint("intent_planned")
        links = {"appeal_id": p.appeal_id}
        clicked = False
        try:
            async with open_session(ctx, block_images=False) as session:
                await checkpoint(ctx, "session_open", session)
                appeals: AppealSubmission = session.capability("appeals")
                prepared = await session.read(lambda: appeals.prepare(request))
                await checkpoint(ctx, "form_filled", session, **links)
                move(ctx, intent_id, STARTABLE, "SUBMITTING", run_id=ctx.run_id)
                ctx.checkpoint("before_submit_click")
                clicked = True
                conf = await prepared.submit()  # the one click; never retried
                ctx.checkpoint("after_submit_click")
                await ctx.evidence.capture_page(session.page, "confirmation", **links)
                ctx.evidence.record_event("confirmation", "appeal.confirmed", details={
                    "confirmation_number": conf.confirmation_number, "intent_id": intent_id}, **links)
        except (PortalError, InvalidParams) as exc:
            if not clicked:
                move(ctx, intent_id, STARTABLE, "FAILED_BEFORE_SUBMIT")
                raise
            move(ctx, intent_id, ("SUBMITTING",), "IN_DOUBT")
            raise SubmitOutcomeUnknown(f"intent {intent_id}: {type(exc).__name__} after the submit click") from exc
        record_submitted(ctx, intent_id, p, conf)
        ctx.checkpoint("submitted")
        log.info("appeal.submitted", run_id=ctx.run_id, account=ctx.account.alias, intent_id=intent_id)
        return {"intent_id": intent_id, "state": "SUBMITTED", "confirmation_number": conf.confirmation_number,
                "submitted": True}


RECONSIDERATION_SUBMIT = ReconsiderationSubmit()
