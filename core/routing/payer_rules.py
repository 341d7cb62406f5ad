"""Payer rules (payer_rules.toml): filing limit, appeal window, channel, escalation per plan type."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.routing.errors import RulesFileInvalid
from core.routing.table import _first_error, _pick, read_toml

PLAN_TYPES = ("commercial_fully_insured", "erisa_self_funded", "medicare", "medicaid")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Window(_Frozen):
    """A period counted from a basis date: exactly one of days or months."""

    days: int | None = Field(default=None, gt=0)
    months: int | None = Field(default=None, gt=0)
    basis: Literal["dos", "determination"] = Field(alias="from")

    @model_validator(mode="after")
    def _one_unit(self) -> Window:
        if (self.days is None) == (self.months is None):
            raise ValueError("give exactly one of days or months")
        return self


class FirstLevel(_Frozen):
    channel: Literal["portal", "mail", "fax", "phone"]
    form: str
    portal: str | None = None


class PlanOverride(_Frozen):
    timely_filing: Window | None = None
    appeal: Window | None = None
    first_level: FirstLevel | None = None
    escalation: tuple[str, ...] | None = None
    sources: tuple[str, ...] = ()


class PayerEntry(_Frozen):
    name: str
    x12_ids: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    timely_filing: Window
    appeal: Window
    first_level: FirstLevel
    # Plan type assumed when the claim does not say (e.g. Medicare is always "medicare").
    plan_type: str | None = None
    plans: dict[str, PlanOverride] = {}
    sources: tuple[str, ...] = Field(min_length=1)


class PayerRule(_Frozen):
    """The rules that apply to one payer and plan type, resolved."""

    payer_code: str
    plan_type: str | None
    timely_filing: Window
    appeal: Window
    first_level: FirstLevel
    escalation: tuple[str, ...]
    sources: tuple[str, ...]


class PayerRules(_Frozen):
    version: int
    escalation: dict[str, tuple[str, ...]]
    payers: dict[str, PayerEntry]

    @model_validator(mode="after")
    def _plan_types_known(self) -> PayerRules:
        for code, entry in self.payers.items():
            for plan in list(entry.plans) + ([entry.plan_type] if entry.plan_type else []):
                if plan not in PLAN_TYPES:
                    raise ValueError(f"payer {code}: unknown plan type {plan!r}")
        return self

    def match(self, code: str | None, x12_id: str | None = None, name: str | None = None) -> str | None:
        """The rules key for a payer: by code, then X12 payer id, then a name fragment."""
        if code and code.upper() in self.payers:
            return code.upper()
        for key, entry in self.payers.items():
            if x12_id and x12_id in entry.x12_ids:
                return key
        lowered = (name or "").lower()
        for key, entry in self.payers.items():
            if lowered and any(fragment in lowered for fragment in entry.names):
                return key
        return None

    def rule(self, key: str, plan_type: str | None) -> PayerRule:
        entry = self.payers[key]
        plan = plan_type or entry.plan_type
        override = entry.plans.get(plan or "", PlanOverride())
        escalation = override.escalation or self.escalation.get(plan or "commercial_fully_insured", ())
        return PayerRule(
            payer_code=key,
            plan_type=plan,
            timely_filing=override.timely_filing or entry.timely_filing,
            appeal=override.appeal or entry.appeal,
            first_level=override.first_level or entry.first_level,
            escalation=tuple(escalation),
            sources=entry.sources + override.sources,
        )


def load_payer_rules(directory: Path | None = None) -> PayerRules:
    """Read payer_rules.toml from the operator's directory when it has one, else the shipped file."""
    path = _pick(directory, "payer_rules.toml")
    try:
        return PayerRules.model_validate(read_toml(path))
    except ValidationError as exc:
        raise RulesFileInvalid(f"{path.name}: {_first_error(exc)}") from exc
