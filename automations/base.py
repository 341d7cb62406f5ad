"""The contract between the fleet and an automation: the run context and the Automation protocol."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from playwright.async_api import Browser

    from core.config import Settings
    from core.crypto import KeyRing
    from core.store.db import Database
    from evidence.recorder import EvidenceRecorder


@dataclass(frozen=True)
class Account:
    """A portal account as an automation sees it: no secrets, just where and which portal."""

    # portal_accounts.id: the key for the vault, locks and intents.
    id: int
    # Operator-chosen name; the only account identifier that may appear in logs.
    alias: str
    # Registered portal package name, e.g. "availity".
    portal: str
    base_url: str


@dataclass(frozen=True)
class RunContext:
    """Everything a run may touch; built by the fleet, never by the automation."""

    run_id: str
    account: Account
    db: "Database"
    settings: "Settings"
    keys: "KeyRing"
    # Owned by the fleet's pool; the automation opens (and always closes) its own context.
    browser: "Browser"
    evidence: "EvidenceRecorder"
    # Called with each named checkpoint as it is reached; the fleet injects crashes here.
    checkpoint: Callable[[str], None]
    # Injected clock: automations never read the wall clock for business dates.
    today: date
    # Called as the work advances: progress("claims", done, total); the fleet passes it to whoever
    # watches this process's runs (the CLI's progress display). total is None when not known yet.
    progress: Callable[[str, int, int | None], None] = lambda unit, done, total=None: None


@runtime_checkable
class Automation(Protocol):
    """A capability script: drives one portal account and writes typed results to the store."""

    # Registry key, e.g. "claim_status_pull".
    name: str
    # Every checkpoint `run` may pass, in order; the fleet's crash harness iterates these.
    checkpoints: tuple[str, ...]
    # Portal capabilities it uses (besides login): a run is refused while one is paused on its portal.
    capabilities: tuple[str, ...]

    async def run(self, ctx: RunContext, params: dict[str, Any]) -> dict[str, Any]:
        """Do the work; return a JSON-able summary (counts and opaque ids, no PHI)."""
        ...
