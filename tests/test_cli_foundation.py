"""The foundation commands work as documented: db upgrade, doctor, accounts add/list/remove/rotate-key."""
import json

import pytest
from typer.testing import CliRunner

from core.config import get_settings
from core.crypto import KeyRing
from core.store.db import Database
from core.vault import Vault

PASSWORD = "Tr0ub4dor&3-horse"
TOTP = "KRSXG5CTMVRXEZLUKRSXG5CT"


@pytest.fixture
def cli(tmp_path, monkeypatch, db_url):
    """Run the real CLI with its settings taken from the environment, as an operator would."""
    from cli.main import app

    monkeypatch.setenv("PAYERFLEET_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("PAYERFLEET_DATABASE_URL", db_url)
    monkeypatch.setenv("PAYERFLEET_LOG_FORMAT", "json")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args, **kw: runner.invoke(app, list(args), catch_exceptions=False, **kw)
    get_settings.cache_clear()


def _add(cli, alias="availity-demo"):
    return cli("accounts", "add", alias, "--portal", "availity", "--url", "http://127.0.0.1:9",
               "--username", "jdoe-biller", "--password", PASSWORD, "--totp-secret", TOTP)


def test_db_upgrade_then_doctor_reports_database_current(cli, db):
    result = cli("db", "upgrade")
    assert result.exit_code == 0, result.output
    doctor = cli("doctor")
    assert "database" in doctor.output and "latest" in doctor.output


def test_doctor_fails_and_says_how_to_fix_a_missing_key(cli, db):
    result = cli("doctor")
    assert result.exit_code == 1
    assert "PAYERFLEET_SECRET_KEY" in result.output


def test_accounts_add_list_remove_never_print_secrets(cli, db):
    added = _add(cli)
    assert added.exit_code == 0, added.output
    listed = cli("accounts", "list", "--json")
    assert [a["alias"] for a in json.loads(listed.output)] == ["availity-demo"]
    for secret in (PASSWORD, TOTP, "jdoe-biller"):
        assert secret not in added.output + listed.output
    assert cli("accounts", "remove", "availity-demo").exit_code == 0
    assert json.loads(cli("accounts", "list", "--json").output) == []


def test_adding_the_same_alias_twice_is_a_clear_error(cli, db):
    _add(cli)
    again = _add(cli)
    assert again.exit_code == 1
    assert "AccountExists" in again.output


def test_rotate_key_keeps_every_secret_and_blob_readable_under_the_new_key_only(cli, db, tmp_path, db_url):
    from core.config import Settings
    from evidence import open_blob_store

    _add(cli, "a1")
    _add(cli, "a2")
    blob_settings = Settings(data_dir=tmp_path / "var")
    sha = open_blob_store(blob_settings).put(b"%PDF-1.4 decision letter")
    key_file = tmp_path / "var" / "keys" / "master.key"
    old_key = key_file.read_text().split()[0]
    result = cli("accounts", "rotate-key")
    assert result.exit_code == 0, result.output
    keys_now = key_file.read_text().split()
    assert len(keys_now) == 1 and keys_now[0] != old_key
    vault = Vault(Database(db_url), KeyRing((keys_now[0].encode(),), "test"))
    assert vault.get_credentials(vault.account_id("a2")).password.get_secret_value() == PASSWORD
    assert "1 evidence blobs" in result.output
    assert open_blob_store(blob_settings).get(sha) == b"%PDF-1.4 decision letter"
    assert old_key.encode() not in open_blob_store(blob_settings).keys.keys


def test_missing_database_is_a_clear_error(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("PAYERFLEET_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    get_settings.cache_clear()
    result = cli("db", "current")
    assert result.exit_code == 1
    assert "DatabaseUnavailable" in result.output


def test_toml_file_and_environment_configure_settings(tmp_path, monkeypatch):
    from core.config import Settings

    (tmp_path / "pf.toml").write_text('data_dir = "/srv/pf"\nlog_format = "json"\norg_type = "hospital"\n')
    monkeypatch.setenv("PAYERFLEET_CONFIG", str(tmp_path / "pf.toml"))
    monkeypatch.setenv("PAYERFLEET_LOG_FORMAT", "console")
    s = Settings()
    assert str(s.data_dir) == "/srv/pf" and s.org_type == "hospital"
    assert s.log_format == "console"  # the environment wins over the file
    assert s.db_url == "sqlite:////srv/pf/payerfleet.db"
    assert json.loads(json.dumps(s.model_dump(mode="json")))["secret_key"] is None
