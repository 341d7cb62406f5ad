"""Procrastinate's schema follows the installed library: installed once, checked at worker start,
upgraded by `payerfleet db upgrade` in one transaction (PostgreSQL only; see conftest)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import delete, func, select, text

from conftest import private_pg_database
from core.store.db import Database
from core.store.models import ProcrastinateMigration
from fleet.errors import ProcrastinateSchemaOutdated
from fleet.procrastinate_schema import ensure_schema, library_migrations, upgrade_schema

pytestmark = pytest.mark.database  # a PostgreSQL database of its own, not the db_url fixture


@pytest.fixture
def empty_pg() -> Iterator[Database]:
    """A database of its own: migrated by payerfleet, no Procrastinate schema yet."""
    with private_pg_database("payerfleet_test_pq") as url:
        db = Database(url)
        try:
            yield db
        finally:
            db.dispose()


def _recorded(db: Database) -> list[str]:
    with db.transaction() as s:
        return sorted(s.scalars(select(ProcrastinateMigration.name)))


def _forget(db: Database, *names: str) -> None:
    """As if the database had been installed by a library without these migrations."""
    with db.transaction() as s:
        s.execute(delete(ProcrastinateMigration).where(ProcrastinateMigration.name.in_(names)))


def test_the_first_worker_installs_the_schema_and_records_every_library_migration(empty_pg):
    assert upgrade_schema(empty_pg) == []  # no schema yet: nothing to upgrade, nothing installed
    assert ensure_schema(empty_pg) is True
    assert _recorded(empty_pg) == library_migrations() and len(library_migrations()) > 10
    assert ensure_schema(empty_pg) is False  # the next worker finds it current
    with empty_pg.engine.connect() as conn:
        assert conn.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None


def test_a_library_upgrade_stops_workers_until_db_upgrade_applies_it(empty_pg, monkeypatch):
    ensure_schema(empty_pg)
    newest = library_migrations()[-1]
    _forget(empty_pg, newest)
    with pytest.raises(ProcrastinateSchemaOutdated, match="run `payerfleet db upgrade`") as refused:
        ensure_schema(empty_pg)
    assert newest in str(refused.value)

    from typer.testing import CliRunner

    from cli.main import app
    from core.config import get_settings

    monkeypatch.setenv("PAYERFLEET_DATABASE_URL", empty_pg.url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["db", "upgrade"], catch_exceptions=False)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.stdout
    assert f"applied 1 migration(s), {newest}" in " ".join(result.stdout.split())
    assert _recorded(empty_pg) == library_migrations()
    assert ensure_schema(empty_pg) is False
    assert upgrade_schema(empty_pg) == []  # idempotent


def test_a_failing_migration_applies_nothing_and_says_which(empty_pg):
    ensure_schema(empty_pg)
    # Re-adding an enum value that exists fails: the database really has this change already.
    failing = next(n for n in library_migrations() if n.startswith("03.04.00_01"))
    newest = library_migrations()[-1]
    _forget(empty_pg, failing, newest)
    with pytest.raises(ProcrastinateSchemaOutdated, match=f"{failing} failed, nothing was applied"):
        upgrade_schema(empty_pg)
    assert set(library_migrations()) - set(_recorded(empty_pg)) == {failing, newest}
    with empty_pg.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(text("pg_trigger")).where(
            text("tgname = 'procrastinate_trigger_status_events_update_v1'"))).scalar() == 1
