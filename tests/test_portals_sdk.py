"""Portal SDK pieces that need no portal: registry, TOTP guard, read retry, consequences."""
from __future__ import annotations

import pyotp
import pytest

from portals.capabilities import SubmittedAppealRow, appeal_fingerprint
from portals.definition import PortalDefinition
from portals.errors import (
    AccountLocked,
    BadCredentials,
    CapabilityNotSupported,
    ClaimNotFound,
    Consequence,
    DuplicatePortal,
    LayoutChanged,
    PortalUnavailable,
    SessionExpired,
    UnknownPortal,
    consequence_of,
)
from portals.registry import PortalRegistry
from portals.retry import RetryPolicy
from portals.totp import TotpGuard

SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def _portal(name: str, **caps) -> PortalDefinition:
    return PortalDefinition(name=name, title=name.title(), login=object(), capabilities=caps)


def test_registry_refuses_a_duplicate_name():
    registry = PortalRegistry()
    registry.register(_portal("acme"))
    with pytest.raises(DuplicatePortal):
        registry.register(_portal("acme"))
    assert registry.names() == ["acme"]


def test_registry_unknown_name_is_typed():
    with pytest.raises(UnknownPortal):
        PortalRegistry().get("nope")


def test_definition_refuses_unknown_capability():
    with pytest.raises(ValueError, match="teleport"):
        _portal("acme", teleport=lambda s: None)


def test_session_capability_not_declared_is_typed():
    from portals.session import PortalSession, memory_state_store

    store, _ = memory_state_store()
    session = PortalSession(None, _portal("acme"), base_url="http://127.0.0.1:1", credentials=None,
                            state=store, account_key="1")
    with pytest.raises(CapabilityNotSupported):
        session.capability("claim_status")


class FakeClock:
    def __init__(self, now: float):
        self.now = now
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def wait(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


async def test_totp_guard_never_hands_out_a_code_twice():
    clock = FakeClock(1_000_000_000.0)  # 10 s into a 30 s step
    guard = TotpGuard(clock=clock, wait=clock.wait)
    first, step1 = await guard.code("acct-1", SEED)
    second, step2 = await guard.code("acct-1", SEED)
    assert step2 == step1 + 1 and first != second
    assert clock.waits == [pytest.approx(20.0)]
    assert second == pyotp.TOTP(SEED).at(clock.now)


async def test_totp_guard_steps_are_per_account_and_honour_persisted_steps():
    clock = FakeClock(1_000_000_010.0)
    guard = TotpGuard(clock=clock, wait=clock.wait)
    await guard.code("acct-1", SEED)
    await guard.code("acct-2", SEED)
    assert clock.waits == []
    other = TotpGuard(clock=clock, wait=clock.wait)
    other.note_used("acct-1", int(clock.now // 30))  # read back from the saved session
    _, step = await other.code("acct-1", SEED)
    assert step == int(clock.now // 30) and clock.waits


async def test_read_retry_backs_off_with_jitter_and_is_bounded():
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    calls = 0

    async def flaky():
        nonlocal calls
        calls += 1
        raise PortalUnavailable("HTTP 503")

    policy = RetryPolicy(attempts=4, multiplier=0.5, max_wait=8, sleep=record)
    with pytest.raises(PortalUnavailable):
        await policy.call(flaky)
    assert calls == 4 and len(waits) == 3
    assert all(0 <= w <= 0.5 * 2 ** (i + 1) for i, w in enumerate(waits))


async def test_read_retry_does_not_retry_other_failures():
    calls = 0

    async def missing():
        nonlocal calls
        calls += 1
        raise ClaimNotFound()

    async def no_wait(_):
        raise AssertionError("must not wait")

    with pytest.raises(ClaimNotFound):
        await RetryPolicy(sleep=no_wait).call(missing)
    assert calls == 1


@pytest.mark.parametrize("error,consequence", [
    (BadCredentials(), Consequence.DISABLE_ACCOUNT), (AccountLocked(), Consequence.DISABLE_ACCOUNT),
    (SessionExpired(), Consequence.RELOGIN_ONCE), (PortalUnavailable(), Consequence.RETRY_READ),
    (LayoutChanged(landmark="x"), Consequence.ALERT), (ClaimNotFound(), Consequence.SKIP_ITEM),
    (ValueError(), Consequence.ALERT),
])
def test_each_failure_has_one_consequence(error, consequence):
    assert consequence_of(error) is consequence


def test_submitted_row_fingerprint_matches_what_the_submitter_stores():
    row = SubmittedAppealRow("T-1", " CLM1 ", "Additional Information", None, "Received")
    assert row.fingerprint() == appeal_fingerprint("CLM1", "Additional Information")
