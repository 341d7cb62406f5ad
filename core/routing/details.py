"""One work item in full: fields, the payer's appeal path, its transitions and payer touches."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.routing.config import RoutingConfig, load_config
from core.routing.queues import current_priority
from core.routing.states import TRANSITIONS, get_item
from core.store.models import Claim, ClaimPayment, Payer, PayerTouch, Rejection
from core.store.models.work import WorkItemTransition

FIELDS = ("id", "kind", "intake_source", "category", "team", "owner", "state", "action", "group_code", "carc",
          "rarc", "procedure_code", "amount", "recovered_amount", "dos", "determined_on", "filing_deadline",
          "appeal_deadline", "due_on", "sla_due_at", "follow_up_on", "priority", "recoverability", "parent_id",
          "reason", "root_cause", "plan_type")


def item_details(session: Session, item_id: int, config: RoutingConfig | None = None) -> dict:
    config = config or load_config()
    item = get_item(session, item_id, lock=False)
    out = {name: getattr(item, name) for name in FIELDS}
    out["queue_priority"] = current_priority(session, item_id)
    out["next_states"] = sorted(TRANSITIONS[item.state]) + ([] if not item.is_open else ["closed_written_off"])
    payer = session.get(Payer, item.payer_id) if item.payer_id else None
    out["payer"] = payer.code if payer else None
    # The practice's claim number (CLM01 / CLP01) and the payer's (CLP07): what a biller quotes.
    sources = [session.get(Claim, item.claim_id) if item.claim_id else None,
               session.get(ClaimPayment, item.claim_payment_id) if item.claim_payment_id else None,
               session.get(Rejection, item.rejection_id) if item.rejection_id else None]
    out["claim_number"] = next((r.patient_control_number for r in sources if r and r.patient_control_number), None)
    out["payer_claim_number"] = next((r.payer_claim_number for r in sources[1:] if r and r.payer_claim_number), None)
    key = config.payer_rules.match(payer.code, payer.x12_id, payer.name) if payer else None
    if key:
        rule = config.payer_rules.rule(key, item.plan_type)
        out["first_level"] = rule.first_level.model_dump()
        out["escalation"] = list(rule.escalation)
        out["rule_sources"] = list(rule.sources)
    out["transitions"] = [
        {"from": t.from_state, "to": t.to_state, "actor": t.actor, "at": t.at, "reason": t.reason}
        for t in session.scalars(select(WorkItemTransition).where(WorkItemTransition.work_item_id == item_id)
                                 .order_by(WorkItemTransition.id))]
    out["touches"] = [
        {"submitted_on": t.submitted_on, "channel": t.channel, "confirmation_number": t.confirmation_number,
         "follow_up_on": t.follow_up_on, "next_action": t.next_action, "owner": t.owner, "outcome": t.outcome,
         "paid_amount": t.paid_amount, "billed_amount": t.billed_amount, "write_off_reason": t.write_off_reason,
         "root_cause": t.root_cause}
        for t in session.scalars(select(PayerTouch).where(PayerTouch.work_item_id == item_id).order_by(PayerTouch.id))]
    return out
