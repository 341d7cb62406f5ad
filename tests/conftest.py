"""Shared fixtures. PAYERFLEET_TEST_DB=sqlite|postgresql picks the store backend for the run."""
from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text

from core.config import Settings
from core.store import migrate
from core.store.db import Database
from core.store.models import Base

BACKEND = os.environ.get("PAYERFLEET_TEST_DB", "sqlite")

# CI replays the same examples every run, so a green build stays green; developers explore
# (`PAYERFLEET_HYPOTHESIS=explore`, or hypothesis's own --hypothesis-seed) to find new cases.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.register_profile("explore", max_examples=2000)
if os.environ.get("PAYERFLEET_HYPOTHESIS") or os.environ.get("CI"):
    hypothesis_settings.load_profile(os.environ.get("PAYERFLEET_HYPOTHESIS", "ci"))
PG_ADMIN_URL = os.environ.get("PAYERFLEET_TEST_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
# The public X12 samples the tests read (provenance and licences in its SOURCES.md and LICENSES/).
X12_SAMPLES = Path(__file__).resolve().parent / "data" / "x12"

pytest_plugins = ("fixtures.pytest_plugin",)
# Procrastinate exists only on PostgreSQL; CI runs the suite on both backends, so these run there.
collect_ignore = [] if BACKEND == "postgresql" else ["test_fleet_procrastinate_schema.py"]


def pytest_addoption(parser) -> None:
    parser.addoption("--database-tests-only", action="store_true",
                     help="Run only the database tests (the second backend's pass of ./dev test).")


def pytest_report_header(config) -> str:
    only = ", database tests only" if config.getoption("--database-tests-only") else ""
    return f"payerfleet store backend: {BACKEND}{only}"


def pytest_collection_modifyitems(config, items) -> None:
    """A test is a database test when it uses the store (the `db_url` fixture, directly or through `db`,
    `settings`, ...) or is marked `database`; `./dev test` runs those on every backend and the rest once."""
    for item in items:
        if "db_url" in item.fixturenames:
            item.add_marker(pytest.mark.database)
    if config.getoption("--database-tests-only"):
        keep = [item for item in items if item.get_closest_marker("database")]
        config.hook.pytest_deselected(items=[item for item in items if not item.get_closest_marker("database")])
        items[:] = keep


@contextmanager
def private_pg_database(prefix: str = "payerfleet_test") -> Iterator[str]:
    """A new, migrated PostgreSQL database in the test server (its URL), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    migrator = Database(url)
    try:
        migrate.upgrade(migrator)
        migrator.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def _pg_database_url() -> Iterator[str]:
    """A private PostgreSQL database per test session, so parallel runs never collide."""
    with private_pg_database() as url:
        yield url


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    migrate.upgrade(db)
    db.dispose()
    return path


@pytest.fixture
def db_url(request, tmp_path) -> str:
    if BACKEND == "postgresql":
        return request.getfixturevalue("_pg_database_url")
    target = tmp_path / "payerfleet.db"
    shutil.copy(request.getfixturevalue("_sqlite_template"), target)
    return f"sqlite:///{target}"


@pytest.fixture
def db(db_url) -> Iterator[Database]:
    """A migrated, empty store on the selected backend."""
    database = Database(db_url)
    yield database
    if database.dialect == "postgresql":
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        with database.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    database.dispose()


@pytest.fixture
def settings(tmp_path, db_url) -> Settings:
    """Settings pointing at a private data directory and the test database."""
    return Settings(data_dir=tmp_path / "var", database_url=db_url)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch whichever Chromium the bootstrap picks, with the offline-safe flags."""
    from portals.browser import find_chromium

    return {**browser_type_launch_args, **find_chromium().launch_kwargs()}
