"""Declared consequences are carried out: a refused login disables the account, a layout change pauses the
capability on that portal, each raises an alert that the configured notifiers deliver (a webhook and SMTP,
both received by servers this test starts on loopback)."""
from __future__ import annotations

import http.server
import json
import socket
import threading

import pytest
from aiosmtpd.controller import Controller

from core import alerts, notify
from core.crypto import KeyRing
from core.vault import Vault
from fleet import runs
from fleet.backends import submit
from fleet.errors import AccountDisabled, AccountNotAuthorised
from fleet.local import LocalBackend
from fleet_support import Probe, add_account, make_runtime, use_test_automations
from test_fleet_cli import cli  # noqa: F401 - the CLI fixture, shared


@pytest.fixture
def fleet(db, settings, monkeypatch):
    probe = Probe()
    sent: list = []
    runtime = make_runtime(db, settings, use_test_automations(monkeypatch, probe))
    runtime.notify = sent.extend
    backend = LocalBackend(runtime)
    backend.probe, backend.sent = probe, sent
    return backend


@pytest.mark.parametrize("refusal", ["BadCredentials", "AccountLocked"])
async def test_a_refused_login_disables_the_account_until_an_operator_enables_it(fleet, db, settings, refusal):
    # Regression (issue 13): BadCredentials/AccountLocked were recorded, the account stayed in use.
    add_account(db, "main")
    failed = await submit(fleet, "fleet_echo", "main", {"fail": refusal})
    await fleet.run_until_idle()
    assert (runs.get_run(db, failed).state, runs.get_run(db, failed).error_type) == (runs.FAILED, refusal)
    [alert] = alerts.list_alerts(db)
    assert (alert.kind, alert.severity, alert.subject) == ("account_disabled", "critical", "account:main")
    assert "payerfleet accounts enable main" in alert.message and fleet.sent == [alert]
    with pytest.raises(AccountDisabled, match="accounts enable main"):
        await submit(fleet, "fleet_echo", "main", {"tag": "again"})
    info = next(a for a in Vault(db, KeyRing.load(settings, create=True)).list_accounts() if a.alias == "main")
    assert (info.enabled, info.disabled_reason) == (False, refusal)

    Vault(db, KeyRing.load(settings)).enable("main", by="cli:ops")
    assert alerts.list_alerts(db) == []  # enabling acknowledges the account's alert
    ok = await submit(fleet, "fleet_echo", "main", {"tag": "again"})
    await fleet.run_until_idle()
    assert runs.get_run(db, ok).state == runs.SUCCEEDED


async def test_a_queued_run_of_an_account_disabled_meanwhile_never_logs_in(fleet, db):
    add_account(db, "main")
    first = await submit(fleet, "fleet_echo", "main", {"fail": "BadCredentials"})
    second = await submit(fleet, "fleet_echo", "main", {"tag": "would lock the account"})
    await fleet.run_until_idle()
    assert runs.get_run(db, first).error_type == "BadCredentials"
    assert (runs.get_run(db, second).state, runs.get_run(db, second).error_type) == (runs.FAILED, "AccountDisabled")
    assert fleet.probe.order == [""]  # only the first run reached the portal
    assert len(alerts.list_alerts(db)) == 1


async def test_a_layout_change_pauses_the_capability_on_that_portal_until_acknowledged(fleet, db):
    for alias, portal in (("avail-1", "availity"), ("avail-2", "availity"), ("uhc-1", "uhc")):
        add_account(db, alias, portal)
    changed = await submit(fleet, "fleet_echo", "avail-1", {"fail": "LayoutChanged"})
    await fleet.run_until_idle()
    assert runs.get_run(db, changed).error_type == "LayoutChanged"
    [alert] = alerts.list_alerts(db)
    # The failure struck before any capability was asked for: login is what changed.
    assert (alert.kind, alert.subject) == ("capability_paused", "portal:availity/capability:login")
    other_account = await submit(fleet, "fleet_echo", "avail-2", {"tag": "paused"})
    other_portal = await submit(fleet, "fleet_echo", "uhc-1", {"tag": "uhc"})
    await fleet.run_until_idle()
    assert (runs.get_run(db, other_account).state, runs.get_run(db, other_account).error_type) == \
        (runs.FAILED, "CapabilityPaused")
    assert runs.get_run(db, other_portal).state == runs.SUCCEEDED
    alerts.ack(db, alert.id, by="cli:ops")
    resumed = await submit(fleet, "fleet_echo", "avail-2", {"tag": "resumed"})
    await fleet.run_until_idle()
    assert runs.get_run(db, resumed).state == runs.SUCCEEDED
    assert fleet.probe.order == ["", "uhc", "resumed"]


async def test_other_alert_failures_raise_one_alert_until_acknowledged(fleet, db):
    add_account(db, "main")
    for _ in range(2):
        await submit(fleet, "fleet_echo", "main", {"fail": "Boom"})
    await fleet.run_until_idle()
    [alert] = alerts.list_alerts(db)
    assert (alert.kind, alert.subject) == ("run_failed", "account:main/automation:fleet_echo")
    assert alert.message.startswith("fleet_echo on main failed: InternalError")


async def test_unauthorised_accounts_are_refused_on_every_path_naming_the_flag(fleet, db):
    # Regression (issue 13): on-demand pull and appeal submit ran on an account not marked authorised.
    add_account(db, "real", authorised=False)
    with pytest.raises(AccountNotAuthorised, match="payerfleet accounts authorise real"):
        await submit(fleet, "fleet_echo", "real")
    # Queued before the flag was withdrawn: refused when it runs, before any browser.
    add_account(db, "was-ok")
    queued = await submit(fleet, "fleet_echo", "was-ok")
    from sqlalchemy import update

    from core.store.models import PortalAccount

    with db.transaction() as s:
        s.execute(update(PortalAccount).where(PortalAccount.alias == "was-ok").values(authorised=False))
    await fleet.run_until_idle()
    assert runs.get_run(db, queued).error_type == "AccountNotAuthorised" and fleet.probe.order == []


def test_sandbox_accounts_on_loopback_count_as_authorised():
    assert runs.is_loopback("http://127.0.0.1:8123/") and runs.is_loopback("http://localhost:9/")
    assert runs.is_loopback("http://[::1]:80/") and not runs.is_loopback("https://apps.availity.com/")
    assert not runs.is_loopback("https://127.0.0.1.example.com/")


# -- notifiers, against receivers on loopback ------------------------------------------------------
class _Received(http.server.BaseHTTPRequestHandler):
    bodies: list = []

    def do_POST(self):  # noqa: N802 - the stdlib's name
        length = int(self.headers["Content-Length"])
        type(self).bodies.append((self.headers["Content-Type"], json.loads(self.rfile.read(length))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


class _Mailbox:
    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content.decode()))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def receivers():
    _Received.bodies = []
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Received)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    mailbox = _Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    yield f"http://127.0.0.1:{web.server_address[1]}/hooks/payerfleet", smtp.port, mailbox
    smtp.stop()
    web.shutdown()


async def test_alerts_reach_the_webhook_and_the_mailbox_configured_in_the_toml(db, settings, monkeypatch, tmp_path,
                                                                             receivers):
    url, port, mailbox = receivers
    toml = tmp_path / "payerfleet.toml"
    toml.write_text(f'[alerts]\nwebhook_url = "{url}"\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\n'
                    f'smtp_from = "fleet@practice.test"\nsmtp_to = ["ops@practice.test"]\n')
    monkeypatch.setenv("PAYERFLEET_CONFIG", str(toml))
    runtime = make_runtime(db, settings, use_test_automations(monkeypatch, Probe()))  # the real notifier
    backend = LocalBackend(runtime)
    add_account(db, "main")
    await submit(backend, "fleet_echo", "main", {"fail": "AccountLocked"})
    await backend.run_until_idle()
    [alert] = alerts.list_alerts(db)
    assert _Received.bodies == [("application/json", alert.as_dict())]
    [(sender, to, content)] = mailbox.messages
    assert (sender, to) == ("fleet@practice.test", ["ops@practice.test"])
    assert "[payerfleet critical] account_disabled: account:main" in content
    assert f"payerfleet alerts ack {alert.id}" in content


def test_a_notifier_that_is_down_is_retried_then_logged_never_raised(db):
    config = notify.AlertsConfig(webhook_url=f"http://127.0.0.1:{_free_port()}/nobody-listens", timeout_s=2)
    with db.transaction() as s:
        raised = alerts.raise_alert(s, alerts.RUN_FAILED, alerts.WARNING, "account:a/automation:x", "x failed")
    waits: list[float] = []
    assert notify.notify(config, [raised], sleep=waits.append) == 0
    assert waits == [1, 2]


def test_smtp_without_recipients_is_a_config_error(tmp_path):
    from core.errors import ConfigError

    toml = tmp_path / "payerfleet.toml"
    toml.write_text('[alerts]\nsmtp_host = "127.0.0.1"\n')
    with pytest.raises(ConfigError, match="smtp_to"):
        notify.load_alerts_config(toml)


def test_on_demand_pull_refuses_an_unauthorised_account_before_queueing_anything(cli, db):
    # Regression (issue 13): `pull` opened Chromium at the real Availity address for an unauthorised account.
    from sqlalchemy import func, select

    from core.store.models import AutomationRun, Payer

    add_account(db, "real-availity", authorised=False)
    add_account(db, "fine")
    with db.transaction() as s:
        s.add(Payer(code="AETNA", name="AETNA"))
    for args in (("pull", "--account", "real-availity", "--no-wait"), ("pull", "--no-wait")):
        refused = cli(*args)
        said = " ".join(refused.output.split())  # rich wraps long lines
        assert refused.exit_code == 1 and "payerfleet accounts authorise real-availity" in said
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(AutomationRun)) == 0
    assert cli("accounts", "authorise", "real-availity").exit_code == 0
    assert cli("pull", "--account", "real-availity", "--no-wait").exit_code == 0
