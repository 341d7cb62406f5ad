"""Everything routing reads from configuration, loaded once and passed down."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core.config import Settings, get_settings
from core.routing.payer_rules import PayerRules, load_payer_rules
from core.routing.table import RoutingTable, load_routing_table


@dataclass(frozen=True)
class RoutingConfig:
    table: RoutingTable
    payer_rules: PayerRules
    # "practice" or "hospital": picks the write-off threshold.
    org_type: str = "practice"

    @property
    def write_off_threshold(self) -> Decimal:
        return self.table.write_off.threshold(self.org_type)


def load_config(settings: Settings | None = None) -> RoutingConfig:
    current = settings or get_settings()
    return RoutingConfig(
        table=load_routing_table(current.routing_dir),
        payer_rules=load_payer_rules(current.routing_dir),
        org_type=current.org_type,
    )
