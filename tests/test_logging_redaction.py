"""No PHI, password or TOTP seed reaches the log output through the code paths that log."""
import io
import json

import pytest
import structlog

from core import logging as pf_logging
from core.crypto import KeyRing
from core.vault import Credentials, Vault

PASSWORD = "Sup3r-Secret-pw!"
TOTP = "JBSWY3DPEHPK3PXPJBSWY3DP"
PATIENT = {"patient_name": "ZZTEST JANE", "member_id": "W123456789", "dob": "1961-04-09",
           "patient_control_number": "PCN-778899"}
LEAKS = [PASSWORD, TOTP, "ZZTEST", "W123456789", "1961-04-09", "PCN-778899", "jane.biller"]


@pytest.fixture(params=["json", "console"])
def log_output(request):
    buf = io.StringIO()
    pf_logging.configure(request.param, "DEBUG", stream=buf)
    yield buf
    structlog.reset_defaults()


def test_vault_paths_log_events_without_secrets(log_output, db, settings):
    vault = Vault(db, KeyRing.load(settings, create=True))
    creds = Credentials(username="jane.biller", password=PASSWORD, totp_secret=TOTP)
    account_id = vault.add_account(alias="a", portal="availity", base_url="http://x", credentials=creds)
    vault.put_storage_state(account_id, {"cookies": [{"name": "sid", "value": TOTP}]})
    vault.reencrypt_all(vault.keys.with_new_primary())
    out = log_output.getvalue()
    assert "vault.account_added" in out and "vault.reencrypted" in out
    assert not [leak for leak in LEAKS if leak in out]


def test_careless_fields_and_free_text_are_redacted(log_output):
    log = structlog.get_logger()
    log.info("claim.looked_up", password=PASSWORD, totp_secret=TOTP, **PATIENT,
             note=f"member W123456789 born 1961-04-09, seed {TOTP}", creds={"password": PASSWORD})
    log.info("login.attempt", secret=Credentials(username="jane.biller", password=PASSWORD).password)
    out = log_output.getvalue()
    assert "claim.looked_up" in out
    assert not [leak for leak in LEAKS if leak in out]


def test_tracebacks_carry_no_locals_or_secret_messages(log_output):
    log = structlog.get_logger()

    def login(password: str, totp: str) -> None:
        raise PermissionError(f"rejected {totp}")

    try:
        login(PASSWORD, TOTP)
    except PermissionError:
        log.exception("login.failed", account_id=7)
    out = log_output.getvalue()
    assert "login.failed" in out and "PermissionError" in out
    assert PASSWORD not in out and TOTP not in out


def test_json_format_is_one_object_per_line():
    buf = io.StringIO()
    pf_logging.configure("json", stream=buf)
    structlog.get_logger().info("era.ingested", claims=3, sha256="ab" * 32)
    structlog.reset_defaults()
    record = json.loads(buf.getvalue())
    assert record["event"] == "era.ingested" and record["claims"] == 3 and record["level"] == "info"
