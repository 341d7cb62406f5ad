"""Submit a reconsideration exactly once (DESIGN §5), journalled in automations/intents.py.

Before any click the portal's own list is read (a payer that accepts duplicates must never get the
act twice); SUBMITTING is committed before the click. Anything that goes wrong after the click
without a confirmation leaves the intent IN_DOUBT for the reconciler, which reads the portal's list
(AppealSubmission.list_submitted) and matches rows on `fingerprint`. Nothing here ever retries a
click; only the list read and the form preparation before it go through the read retry.
"""
from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict, model_validator

from automations import intents
from automations.base import RunContext
from automations.errors import InvalidParams, SubmissionNotAllowed
from automations.portal_session import checkpoint, open_session
from portals.capabilities import AppealRequest, AppealSubmission, Attachment, appeal_fingerprint
from portals.errors import PortalError, SubmitOutcomeUnknown

log = structlog.get_logger()


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


class ReconsiderationSubmit:
    name = "reconsideration_submit"
    checkpoints = ("intent_planned", "session_open", "portal_list_read", "form_filled", "before_submit_click",
                   "after_submit_click", "submitted")
    capabilities = ("appeals",)

    async def run(self, ctx: RunContext, params: dict[str, Any]) -> dict[str, Any]:
        try:
            p = ReconsiderationParams.model_validate(params)
            # Forms that require a contact get the account's billing office unless the run names a person.
            request = p.request(default_contact=f"{ctx.account.alias} billing office")
        except (ValueError, OSError) as exc:
            raise InvalidParams(f"reconsideration_submit: {exc}") from exc
        fingerprint = appeal_fingerprint(p.claim_number, p.reason, p.kind)
        intent = intents.plan(ctx.db, key=p.key, appeal_id=p.appeal_id, account_id=ctx.account.id,
                              fingerprint=fingerprint, run_id=ctx.run_id)
        if intent.state == intents.SUBMITTED:
            return {"intent_id": intent.id, "state": intent.state, "confirmation_number": intent.confirmation_number,
                    "submitted": False}
        if intent.state not in intents.STARTABLE:
            raise SubmissionNotAllowed(f"intent {intent.id} is {intent.state}: only the reconciler may resolve it")
        ctx.checkpoint("intent_planned")
        links = {"appeal_id": p.appeal_id}
        clicked = False
        try:
            async with open_session(ctx, block_images=False) as session:
                await checkpoint(ctx, "session_open", session)
                appeals: AppealSubmission = session.capability("appeals")
                found = await self._already_listed(ctx, session, appeals, intent, fingerprint)
                if found is not None:
                    return found
                prepared = await session.read(lambda: appeals.prepare(request))
                await checkpoint(ctx, "form_filled", session, **links)
                intents.begin_attempt(ctx.db, intent.id, run_id=ctx.run_id, account_id=ctx.account.id)
                ctx.checkpoint("before_submit_click")
                clicked = True
                conf = await prepared.submit()  # the one click; never retried
                ctx.checkpoint("after_submit_click")
                await ctx.evidence.capture_page(session.page, "confirmation", **links)
                ctx.evidence.record_event("confirmation", "appeal.confirmed", details={
                    "confirmation_number": conf.confirmation_number, "intent_id": intent.id}, **links)
        except Exception as exc:
            if not clicked:
                if isinstance(exc, (PortalError, InvalidParams)):  # typed: nothing was sent
                    intents.move(ctx.db, intent.id, intents.STARTABLE, intents.FAILED_BEFORE_SUBMIT)
                raise
            # Whatever broke after the click (a portal error, a browser timeout), the POST may be at the payer.
            intents.move(ctx.db, intent.id, (intents.SUBMITTING,), intents.IN_DOUBT)
            raise SubmitOutcomeUnknown(f"intent {intent.id}: {type(exc).__name__} after the submit click") from exc
        if not intents.mark_submitted(ctx.db, intent.id, allowed=(intents.SUBMITTING,),
                                      confirmation_number=conf.confirmation_number,
                                      submitted_on=conf.submitted_on or ctx.today, actor=f"run:{ctx.run_id}",
                                      how="confirmed"):
            raise SubmissionNotAllowed(f"intent {intent.id} left SUBMITTING while this run held it")
        ctx.checkpoint("submitted")
        log.info("appeal.submitted", run_id=ctx.run_id, account=ctx.account.alias, intent_id=intent.id)
        return {"intent_id": intent.id, "state": "SUBMITTED", "confirmation_number": conf.confirmation_number,
                "submitted": True}

    async def _already_listed(self, ctx: RunContext, session: Any, appeals: AppealSubmission, intent: intents.Intent,
                              fingerprint: dict) -> dict[str, Any] | None:
        """Read the portal's own list right before any click: never send what the payer already has.

        After an earlier click of this intent (a re-send), one matching row no other intent owns is that
        click, arrived after all: SUBMITTED with its number, nothing sent. Before any click, or with
        several such rows, the act may already be at the payer by other hands: a person decides.
        """
        rows = await session.read(lambda: appeals.list_submitted(None))
        await checkpoint(ctx, "portal_list_read", session)
        matches = intents.unclaimed_matches(fingerprint, rows, intents.claimed_elsewhere(ctx.db, intent.id))
        if not matches:
            return None
        if intent.attempts and len(matches) == 1:
            number = matches[0].confirmation_number
            if intents.mark_submitted(ctx.db, intent.id, allowed=intents.STARTABLE, confirmation_number=number,
                                      submitted_on=matches[0].submitted_on or ctx.today, actor=f"run:{ctx.run_id}",
                                      how="found_before_resend"):
                ctx.evidence.record_event("portal_list_read", "appeal.found_before_resend",
                                          details={"confirmation_number": number, "intent_id": intent.id})
                return {"intent_id": intent.id, "state": "SUBMITTED", "confirmation_number": number,
                        "submitted": False}
        intents.move(ctx.db, intent.id, intents.STARTABLE, intents.HUMAN_REVIEW)
        raise SubmissionNotAllowed(f"intent {intent.id}: the portal already lists {len(matches)} matching "
                                   f"submission(s) no intent owns; a person decides")


RECONSIDERATION_SUBMIT = ReconsiderationSubmit()
