"""`payerfleet portals new`: the template becomes a working portal after editing its selectors only."""
from __future__ import annotations

import importlib
import sys

import pytest
from typer.testing import CliRunner

import portals
from cli.main import app
from portals.capabilities import ClaimQuery
from portals.contract import ContractData, run_contract
from portals.errors import DuplicatePortal
from portals.registry import PortalRegistry
from portals.session import PortalSession, memory_state_store
from portals_support import claim_where, credentials, guard

# What an engineer changes in the generated selectors.py to point it at the UHC-like sandbox.
EDITS = {
    'HOME = "/"': 'HOME = "/portal/dashboard"',
    'CLAIMS = "/claims"': 'CLAIMS = "/portal/claims"',
    'name="Claim Search"': 'name="Claims & Payments"',
}


@pytest.fixture
def scaffolded(tmp_path, monkeypatch):
    dest = tmp_path / "portals"
    result = CliRunner().invoke(app, ["portals", "new", "uhclite", "--title", "UHC Lite", "--dest", str(dest)])
    assert result.exit_code == 0, result.output
    monkeypatch.setattr(portals, "__path__", [*portals.__path__, str(dest)])
    yield dest / "uhclite"
    for name in [m for m in sys.modules if m.startswith("portals.uhclite")]:
        del sys.modules[name]


def test_scaffold_writes_a_package_and_its_contract_test(scaffolded, tmp_path):
    assert sorted(p.name for p in scaffolded.iterdir()) == ["__init__.py", "claim_status.py", "landmarks", "selectors.py"]
    assert (tmp_path / "tests" / "test_portals_uhclite_contract.py").exists()
    module = importlib.import_module("portals.uhclite")
    assert module.PORTAL.name == "uhclite" and module.PORTAL.supports("claim_status")
    registry = PortalRegistry()
    registry.register(module.PORTAL)
    with pytest.raises(DuplicatePortal):
        registry.register(module.PORTAL)


def test_scaffold_refuses_a_taken_name(tmp_path):
    result = CliRunner().invoke(app, ["portals", "new", "uhc", "--dest", str(tmp_path)])
    assert result.exit_code == 1 and "already registered" in result.output
    assert not (tmp_path / "uhc").exists()


@pytest.mark.browser
async def test_scaffolded_portal_passes_the_contract_after_selector_edits(scaffolded, browser, fresh_sandbox):
    selectors = scaffolded / "selectors.py"
    text = selectors.read_text()
    for old, new in EDITS.items():
        assert old in text
        text = text.replace(old, new)
    selectors.write_text(text)
    module = importlib.import_module("portals.uhclite")
    uhc = fresh_sandbox.uhc
    known = claim_where(uhc, kind="denied")
    store, _ = memory_state_store()
    totp, _ = guard()
    async with PortalSession(browser, module.PORTAL, base_url=uhc.base_url, credentials=credentials(uhc), state=store,
                             account_key="uhclite", totp=totp) as session:
        results = await run_contract(session, ContractData(known_claim=ClaimQuery(claim_number=known.id),
                                                           missing_claim=ClaimQuery(claim_number="NOPE0000000")))
        row = await session.capability("claim_status").lookup(ClaimQuery(claim_number=known.id))
    assert results and all(r.ok for r in results), results
    assert row.status_text == "Denied" and row.billed == known.charge
