"""PortalSession against the sandbox: login, saved state, TOTP, interstitials and every hurdle's typed failure."""
from __future__ import annotations

import pytest

from portals.capabilities import ClaimQuery
from portals.errors import (
    AccountLocked,
    BadCredentials,
    LayoutChanged,
    MfaRejected,
    PortalUnavailable,
    SessionExpired,
)
from portals.session import memory_state_store
from portals.totp import TotpGuard
from portals_support import RecordedSleep, claim_where, guard, session

pytestmark = pytest.mark.browser


async def test_login_passes_mfa_and_terms_then_a_saved_session_is_reused(browser, fresh_sandbox):
    av = fresh_sandbox.availity
    store, box = memory_state_store()
    async with session(browser, av, store=store) as s:
        assert s.logins == 1 and not s.restored
    saved = box["state"]
    assert saved["version"] == 1 and saved["storage_state"]["cookies"] and saved["totp_step"] is not None
    async with session(browser, av, store=store) as s:
        assert s.restored and s.logins == 0  # no second login, no TOTP code spent
    assert len([x for x in av.state.accounts.values() if x.terms_accepted]) == 1


async def test_wrong_password_is_bad_credentials(browser, fresh_sandbox):
    with pytest.raises(BadCredentials):
        async with session(browser, fresh_sandbox.uhc, password="wrong-password"):
            pass


async def test_lockout_after_failed_logins_is_account_locked(browser, fresh_sandbox):
    uhc = fresh_sandbox.uhc
    uhc.set_hurdles(lockout_after=2)
    for _ in range(2):
        with pytest.raises((BadCredentials, AccountLocked)):
            async with session(browser, uhc, password="wrong-password"):
                pass
    with pytest.raises(AccountLocked):  # even the right password is refused now
        async with session(browser, uhc):
            pass


async def test_replayed_totp_step_is_rejected_by_the_portal_and_typed(browser, fresh_sandbox):
    caqh = fresh_sandbox.caqh
    totp, clock = guard()
    async with session(browser, caqh, totp=totp):
        pass
    # A guard that does not know the step was used (another process, no saved state) replays it.
    blind = TotpGuard(clock=clock, wait=clock.wait)
    with pytest.raises(MfaRejected, match="already used"):
        async with session(browser, caqh, totp=blind):
            pass


async def test_guard_moves_to_the_next_step_instead_of_replaying(browser, fresh_sandbox):
    caqh = fresh_sandbox.caqh
    totp, clock = guard()
    async with session(browser, caqh, totp=totp) as first:
        assert first.logins == 1
    async with session(browser, caqh, totp=totp) as second:  # empty state store: must log in again
        assert second.logins == 1
    assert len(clock.waits) == 1 and 0 < clock.waits[0] <= 30


async def test_session_expiry_mid_run_relogs_in_once_and_the_read_completes(browser, fresh_sandbox):
    uhc = fresh_sandbox.uhc
    claim = claim_where(uhc, kind="denied")
    async with session(browser, uhc) as s:
        lookup = s.capability("claim_status")
        first = await s.read(lambda: lookup.lookup(ClaimQuery(claim_number=claim.id)))  # home + search + detail
        uhc.set_hurdles(expire_after_views=3)  # this session has used its 3 views: the next one ends it
        again = await s.read(lambda: lookup.lookup(ClaimQuery(claim_number=claim.id)))
        assert again == first and s.logins == 2


async def test_second_login_elsewhere_kicks_the_first_session(browser, fresh_sandbox):
    uhc = fresh_sandbox.uhc
    claim = claim_where(uhc, kind="paid")
    totp, _ = guard()
    async with session(browser, uhc, totp=totp) as first:
        async with session(browser, uhc, totp=totp):
            pass  # signs in from "another location"
        lookup = first.capability("claim_status")
        with pytest.raises(SessionExpired):
            await lookup.lookup(ClaimQuery(claim_number=claim.id))  # unwrapped: the raw typed failure


async def test_idle_timeout_on_the_sandbox_clock_is_recovered(browser, fresh_sandbox):
    caqh = fresh_sandbox.caqh
    async with session(browser, caqh) as s:
        caqh.advance(minutes=16)
        roster = await s.read(s.capability("credentialing").roster)
        assert roster and s.logins == 2


async def test_maintenance_interstitial_is_clicked_through(browser, fresh_sandbox):
    uhc = fresh_sandbox.uhc
    uhc.set_hurdles(maintenance="interstitial")
    async with session(browser, uhc) as s:
        assert await s.page.get_by_role("link", name="Sign Out").is_visible()


async def test_portal_down_is_retried_with_bounded_backoff_then_unavailable(browser, fresh_sandbox):
    caqh = fresh_sandbox.caqh
    sleep = RecordedSleep()
    async with session(browser, caqh, sleep=sleep, attempts=3) as s:
        caqh.set_hurdles(maintenance="down")
        with pytest.raises(PortalUnavailable):
            await s.read(s.capability("credentialing").roster)
    assert len(sleep.waits) == 2 and all(0 <= w <= 8 for w in sleep.waits)


async def test_transient_5xx_is_retried_and_the_read_succeeds(browser, fresh_sandbox):
    caqh = fresh_sandbox.caqh
    sleep = RecordedSleep()
    async with session(browser, caqh, sleep=sleep, attempts=6) as s:
        # Seeded draws: with this seed the first roster request fails and a later one succeeds.
        caqh.set_faults(error_rate=0.5, seed=3, path_prefix="/PM/Roster")
        roster = await s.read(s.capability("credentialing").roster)
    assert roster and len(sleep.waits) >= 1


async def test_gateway_timeout_is_portal_unavailable(browser, fresh_sandbox):
    caqh = fresh_sandbox.caqh
    async with session(browser, caqh, attempts=1) as s:
        caqh.set_faults(timeout_rate=1.0, timeout_seconds=0, path_prefix="/PM/Roster")
        with pytest.raises(PortalUnavailable, match="504"):
            await s.read(s.capability("credentialing").roster)


async def test_v2_markup_fails_loudly_as_layout_changed(browser, fresh_sandbox):
    av = fresh_sandbox.availity
    av.set_variant("v2")
    claim = claim_where(av, kind="paid")
    async with session(browser, av, timeout_ms=2_000) as s:  # login survives the relabelled form
        lookup = s.capability("claim_status")
        with pytest.raises(LayoutChanged) as info:
            await s.read(lambda: lookup.lookup(ClaimQuery(claim_number=claim.id, payer=claim.payer)))
    assert info.value.landmark == "claim status form"


async def test_images_are_blocked_unless_evidence_needs_them(browser, fresh_sandbox):
    caqh = fresh_sandbox.caqh
    image = f"{caqh.base_url}/PM/logo.png"
    totp, _ = guard()
    for block, event in ((True, "requestfailed"), (False, "requestfinished")):
        async with session(browser, caqh, totp=totp, block_images=block) as s:
            async with s.page.expect_event(event, predicate=lambda r: r.url == image, timeout=5_000):
                await s.page.evaluate("src => { new Image().src = src; }", image)


async def test_used_totp_step_travels_with_the_saved_session(browser, fresh_sandbox):
    caqh = fresh_sandbox.caqh
    totp, clock = guard()
    store, box = memory_state_store()
    async with session(browser, caqh, store=store, totp=totp):
        pass
    caqh.advance(minutes=16)  # the saved session idles out
    other_process = TotpGuard(clock=clock, wait=clock.wait)  # knows nothing but what the vault holds
    async with session(browser, caqh, store=store, totp=other_process) as s:
        assert s.logins == 1
    assert len(clock.waits) == 1  # it waited for the next step instead of replaying the saved one
