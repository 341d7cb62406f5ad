"""The routing table (routing.toml): CARC/RARC -> category -> team, SLA, prior, policies."""
from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.routing.errors import RulesFileInvalid

DATA_DIR = Path(__file__).parent / "data"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Category(_Frozen):
    name: str
    carcs: tuple[str, ...] = ()
    team: str
    # Hours from intake to the team's first action; None means the deadline alone drives it.
    sla_hours: int | None = None
    works_by: Literal["resubmit", "appeal", "dispute"]
    prior: float = Field(ge=0.0, le=1.0)
    # False routes the item straight to write-off (seed: non-covered with no contract support).
    recoverable: bool = True
    source: str


class Refinement(_Frozen):
    carc: str  # "*" matches any CARC
    rarc: str
    category: str
    source: str


class Intake(_Frozen):
    patient_responsibility: frozenset[str]
    informational: frozenset[str]
    contractual_carcs: frozenset[str]


class WriteOff(_Frozen):
    practice: Decimal = Field(ge=0)
    hospital: Decimal = Field(ge=0)

    def threshold(self, org_type: str) -> Decimal:
        return self.hospital if org_type == "hospital" else self.practice


class PriorityPolicy(_Frozen):
    urgency_horizon_days: int = Field(gt=0)
    no_deadline_days: int = Field(ge=0)
    work_today_min_amount: Decimal = Field(ge=0)
    work_today_max_days: int = Field(ge=0)


class Recoverability(_Frozen):
    prior_strength: float = Field(gt=0)


class Clustering(_Frozen):
    window_days: int = Field(gt=0)
    min_members: int = Field(ge=2)
    categories: frozenset[str]


class Documentation(_Frozen):
    sla_hours: int = Field(gt=0)
    categories: frozenset[str]
    default_owner: str
    owners: dict[str, str] = {}


class PeerToPeer(_Frozen):
    categories: frozenset[str]
    lead_days: int = Field(ge=0)


class RoutingTable(_Frozen):
    version: int
    intake: Intake
    write_off: WriteOff
    priority: PriorityPolicy
    recoverability: Recoverability
    clustering: Clustering
    documentation: Documentation
    peer_to_peer: PeerToPeer
    follow_up: dict[str, int]
    teams: dict[str, str]
    categories: tuple[Category, ...]
    refinements: tuple[Refinement, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> RoutingTable:
        names = [c.name for c in self.categories]
        if len(set(names)) != len(names):
            raise ValueError("duplicate category name")
        for required in ("triage", "rejection", "pending", "underpayment"):
            if required not in names:
                raise ValueError(f"category {required!r} is required")
        seen: dict[str, str] = {}
        for cat in self.categories:
            if cat.team not in self.teams:
                raise ValueError(f"category {cat.name!r} names unknown team {cat.team!r}")
            for carc in cat.carcs:
                if carc in seen:
                    raise ValueError(f"CARC {carc} is in both {seen[carc]!r} and {cat.name!r}")
                seen[carc] = cat.name
        for ref in self.refinements:
            if ref.category not in names:
                raise ValueError(f"refinement names unknown category {ref.category!r}")
        for team in ("write_off", "triage"):
            if team not in self.teams:
                raise ValueError(f"team {team!r} is required")
        return self

    def category(self, name: str) -> Category:
        for cat in self.categories:
            if cat.name == name:
                return cat
        raise KeyError(name)

    def category_for(self, carc: str, rarcs: tuple[str, ...] = ()) -> Category | None:
        """RARC refinements first, then the CARC table; None for an unknown CARC."""
        for ref in self.refinements:
            if ref.rarc in rarcs and ref.carc in ("*", carc):
                return self.category(ref.category)
        for cat in self.categories:
            if carc in cat.carcs:
                return cat
        return None

    def follow_up_days(self, channel: str) -> int:
        return self.follow_up.get(channel, self.follow_up.get("mail", 30))


def read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise RulesFileInvalid(f"{path.name}: file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RulesFileInvalid(f"{path.name}: not valid TOML ({exc})") from exc


def load_routing_table(directory: Path | None = None) -> RoutingTable:
    """Read routing.toml from the operator's directory when it has one, else the shipped file."""
    path = _pick(directory, "routing.toml")
    try:
        return RoutingTable.model_validate(read_toml(path))
    except ValidationError as exc:
        raise RulesFileInvalid(f"{path.name}: {_first_error(exc)}") from exc


def _pick(directory: Path | None, name: str) -> Path:
    if directory is not None and (Path(directory) / name).is_file():
        return Path(directory) / name
    return DATA_DIR / name


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else err["msg"]
