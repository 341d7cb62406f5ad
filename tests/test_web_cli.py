"""`payerfleet users ...`: add, list, change; bad input is one clear line and exit 1."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from core.config import get_settings
from core.store.models import User
from core.users import authenticate
from web_support import cheap_password_hashes  # noqa: F401

pytestmark = pytest.mark.usefixtures("cheap_password_hashes")


@pytest.fixture
def cli(tmp_path, monkeypatch, db_url):
    from cli.main import app

    monkeypatch.setenv("PAYERFLEET_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("PAYERFLEET_DATABASE_URL", db_url)
    monkeypatch.setenv("PAYERFLEET_NEW_PASSWORD", "a long enough password")
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, list(args), catch_exceptions=False)
    get_settings.cache_clear()


def test_users_add_list_and_disable(cli, db):
    added = cli("users", "add", "alice", "--role", "biller", "--team", "coding", "--team", "front_desk")
    assert added.exit_code == 0 and "added alice (biller: coding, front_desk)" in added.output
    assert "alice" in cli("users", "list").output
    with db.transaction() as s:
        now = datetime.now(timezone.utc)
        assert authenticate(s, "alice", "a long enough password", client="t", now=now).user is not None
    assert cli("users", "set", "alice", "--disable").exit_code == 0
    with db.transaction() as s:
        assert s.scalar(select(User.enabled).where(User.name == "alice")) is False


@pytest.mark.parametrize("args, message", [
    (("users", "add", "bob", "--role", "biller"), "a biller needs at least one team"),
    (("users", "add", "bob", "--role", "root"), "unknown role 'root'"),
    (("users", "add", "bob", "--role", "biller", "--team", "nope"), "unknown team(s) nope"),
    (("users", "set", "nobody", "--disable"), "no user 'nobody'"),
])
def test_bad_user_input_is_one_line_and_exit_1(cli, db, args, message):
    result = cli(*args)
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
