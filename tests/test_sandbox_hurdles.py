"""Every hurdle fires when switched on, on every portal (in-process, no browser)."""
from __future__ import annotations

import time

import pyotp
import pytest
from starlette.testclient import TestClient

from fixtures.testing import PortalClient, csrf_of

PORTALS = ("availity", "uhc", "caqh")


@pytest.fixture(params=PORTALS)
def pc(request) -> PortalClient:
    return PortalClient(request.param, claims=120)


def home(pc: PortalClient):
    return pc.get(pc.spec.home_path)


def test_login_with_totp_and_terms_reaches_home(pc):
    first = pc.sign_in()
    assert first.status_code == 303 and first.headers["location"] == pc.spec.mfa_path
    assert home(pc).status_code == 303  # MFA not done yet: no way in
    verified = pc.verify(pc.code())
    assert verified.headers["location"] == pc.spec.terms_path
    assert pc.accept_terms().headers["location"] == pc.spec.home_path
    assert home(pc).status_code == 200


def test_terms_interstitial_only_on_first_login(pc):
    pc.login()
    pc.control("POST", "hurdles", {"totp_replay_rejected": False})
    again = pc.fork()
    again.sign_in()
    assert again.verify(again.code()).headers["location"] == pc.spec.home_path


def test_wrong_password_and_lockout_after_n_failures(pc):
    pc.control("POST", "hurdles", {"lockout_after": 3})
    for _ in range(2):
        assert pc.sign_in(password="wrong").status_code == 401
    locked = pc.sign_in(password="wrong")
    assert locked.status_code == 423 and "locked" in locked.text
    assert pc.sign_in().status_code == 423  # even the right password
    pc.control("POST", "clock/advance", {"minutes": 31})
    assert pc.sign_in(password="wrong").status_code == 401  # a fresh count after the lockout ran out
    assert pc.sign_in().status_code == 303


def test_lockout_switched_off_never_locks(pc):
    pc.control("POST", "hurdles", {"lockout_after": None})
    for _ in range(8):
        assert pc.sign_in(password="wrong").status_code == 401
    assert pc.sign_in().status_code == 303


def test_totp_replay_in_the_same_step_is_rejected(pc):
    code = pc.code()
    pc.login(code=code)
    second = pc.fork()
    second.sign_in()
    replay = second.verify(code)
    assert replay.status_code == 401 and "already been used" in replay.text
    pc.control("POST", "hurdles", {"totp_replay_rejected": False})
    assert second.verify(code).status_code == 303


def test_wrong_totp_code_is_refused(pc):
    pc.sign_in()
    good = pc.code()
    bad = f"{(int(good) + 1) % 1_000_000:06d}"
    assert pc.verify(bad).status_code == 401


def test_second_login_kicks_the_first_session(pc):
    pc.control("POST", "hurdles", {"totp_replay_rejected": False})
    pc.login()
    other = pc.fork()
    other.login()
    kicked = home(pc)
    assert kicked.status_code == 303 and "signed_in_elsewhere" in kicked.headers["location"]
    assert home(other).status_code == 200
    page = pc.get(kicked.headers["location"])
    assert "signed in from another location" in page.text


def test_single_session_off_keeps_both(pc):
    pc.control("POST", "hurdles", {"totp_replay_rejected": False, "single_session": False})
    pc.login()
    other = pc.fork()
    other.login()
    assert home(pc).status_code == 200 and home(other).status_code == 200


def test_idle_timeout_follows_the_sandbox_clock(pc):
    pc.login()
    pc.control("POST", "clock/advance", {"minutes": 14})
    assert home(pc).status_code == 200  # activity resets the idle timer
    pc.control("POST", "clock/advance", {"minutes": 14})
    assert home(pc).status_code == 200
    pc.control("POST", "clock/advance", {"minutes": 16})
    expired = home(pc)
    assert expired.status_code == 303 and "reason=expired" in expired.headers["location"]
    assert "expired due to inactivity" in pc.get(expired.headers["location"]).text


def test_session_expires_after_n_views(pc):
    pc.control("POST", "hurdles", {"expire_after_views": 2})
    pc.login()
    assert home(pc).status_code == 200
    assert home(pc).status_code == 200
    assert "reason=expired" in home(pc).headers["location"]


def test_csrf_token_required_on_posts(pc):
    page = pc.get(pc.spec.login_path)
    bad = pc.post(pc.spec.login_path, data={pc.spec.user_field: pc.account().username,
                                            pc.spec.password_field: "Sandbox-Pass-1",
                                            "__RequestVerificationToken": "forged"})
    assert bad.status_code == 403 and "could not be verified" in bad.text
    pc.control("POST", "hurdles", {"csrf": False})
    ok = pc.post(pc.spec.login_path, data={pc.spec.user_field: pc.account().username,
                                           pc.spec.password_field: "Sandbox-Pass-1"})
    assert ok.status_code == 303
    assert csrf_of(page.text)


def test_maintenance_interstitial_after_login(pc):
    pc.control("POST", "hurdles", {"maintenance": "interstitial", "terms_interstitial": False})
    pc.sign_in()
    assert pc.verify(pc.code()).headers["location"] == pc.spec.notice_path
    notice = pc.get(pc.spec.notice_path)
    assert "maintenance" in notice.text.lower()
    assert home(pc).status_code == 303
    done = pc.post(pc.spec.notice_path, data={"__RequestVerificationToken": csrf_of(notice.text)})
    assert done.headers["location"] == pc.spec.home_path and home(pc).status_code == 200


def test_maintenance_down_answers_503_but_control_still_works(pc):
    pc.control("POST", "hurdles", {"maintenance": "down"})
    down = pc.get(pc.spec.login_path)
    assert down.status_code == 503 and "Scheduled maintenance" in down.text
    assert pc.control("GET", "state").status_code == 200


def test_injected_errors_are_seeded_and_reproducible(pc):
    pc.control("POST", "faults", {"error_rate": 0.5, "seed": 42})
    first = [pc.get(pc.spec.login_path).status_code for _ in range(16)]
    pc.control("POST", "faults", {"error_rate": 0.5, "seed": 42})
    second = [pc.get(pc.spec.login_path).status_code for _ in range(16)]
    assert first == second
    assert {s for s in first} - {200} <= {500, 502, 503} and 200 in first and len(set(first)) > 1


def test_every_request_fails_at_rate_one_and_timeouts_answer_504(pc):
    pc.control("POST", "faults", {"error_rate": 1.0})
    assert pc.get(pc.spec.login_path).status_code in (500, 502, 503)
    pc.control("POST", "faults", {"timeout_rate": 1.0, "timeout_seconds": 0})
    assert pc.get(pc.spec.login_path).status_code == 504
    pc.control("POST", "faults", {"path_prefix": "/nowhere", "error_rate": 1.0})
    assert pc.get(pc.spec.login_path).status_code == 200


def test_injected_latency_delays_responses(pc):
    pc.control("POST", "faults", {"latency_ms": 120})
    started = time.monotonic()
    assert pc.get(pc.spec.login_path).status_code == 200
    assert time.monotonic() - started >= 0.12


def test_v2_variant_changes_markup(pc):
    v1 = pc.get(pc.spec.login_path).text
    pc.control("POST", "variant", {"variant": "v2"})
    v2 = pc.get(pc.spec.login_path).text
    assert v1 != v2
    markers = {"availity": ("Log in", "Sign in to Availity"), "uhc": ("Sign in with", "Email or username"),
               "caqh": ("Practice Manager Login", "Sign In")}[pc.state.name]
    assert markers[0] in v1 and markers[1] in v2 and markers[1] not in v1


def test_control_api_needs_the_token_and_loopback(pc):
    assert pc.http.get("/__control/state").status_code == 401
    assert pc.http.get("/__control/state", headers={"Authorization": "Bearer nope"}).status_code == 401
    remote = TestClient(pc.app, client=("10.1.2.3", 40000))
    assert remote.get("/__control/state", headers={"Authorization": "Bearer test-token"}).status_code == 403
    assert pc.control("POST", "hurdles", {"lockout_after": 0}).status_code == 422
    assert pc.control("POST", "hurdles", {"no_such_hurdle": True}).status_code == 422


def test_reset_restores_defaults_and_can_regenerate(pc):
    pc.control("POST", "hurdles", {"csrf": False})
    pc.control("POST", "clock/advance", {"days": 3})
    state = pc.control("POST", "reset", {}).json()
    assert state["hurdles"]["csrf"] is True and state["now"].startswith("2026-11-16T09:00")
    bigger = pc.control("POST", "reset", {"seed": 8, "claims": 50}).json()
    assert bigger["seed"] == 8 and bigger["claims"] == 50


def test_demo_account_secret_is_the_one_the_control_api_reports(pc):
    accounts = pc.control("GET", "accounts").json()
    assert accounts[0]["totp_secret"] == pc.account().totp_secret
    assert pyotp.TOTP(accounts[0]["totp_secret"]).now() == pc.code()


def test_maintenance_banner_on_signed_in_pages(pc):
    pc.login()
    assert "maintenance-banner" not in home(pc).text
    pc.control("POST", "hurdles", {"maintenance": "banner"})
    assert 'aria-label="Maintenance notice" class="maintenance-banner"' in home(pc).text
