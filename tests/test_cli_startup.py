"""`payerfleet --help` stays fast: cli.main and the help screens import no command's dependencies.

Each check runs in a fresh interpreter (this test process has imported everything already) and
lists what the import and the help screen loaded. A command module that imports SQLAlchemy,
Playwright, a portal package... at module level fails here; import it inside the command function.
"""
import json
import subprocess
import sys

import pytest

# Besides the standard library, only these may load before a command runs: typer and what it needs.
ALLOWED_PACKAGES = {"typer", "click", "rich", "annotated_doc", "shellingham", "pygments", "markdown_it", "mdurl",
                    "attr", "pydantic", "pydantic_core", "annotated_types", "typing_extensions",
                    "typing_inspection", "_distutils_hack"}
# payerfleet's own modules that may load: the command modules and the error types they catch.
ALLOWED_OWN = ("cli", "cli.", "core", "core.errors")
OWN_PACKAGES = {"cli", "core", "portals", "automations", "evidence", "fleet", "fixtures", "scheduler", "web"}

PROBE = """
import json, sys
before = set(sys.modules)
import typer.main
from cli.main import app

def paths(command, prefix):
    yield prefix
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from paths(sub, [*prefix, name])

for argv in paths(typer.main.get_command(app), []):  # every command's and group's help screen
    try:
        app([*argv, "--help"], prog_name="payerfleet")
    except SystemExit as exc:
        assert exc.code in (0, None), (argv, exc.code)
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def heavy(modules: list[str]) -> list[str]:
    def allowed(name: str) -> bool:
        top = name.split(".")[0]
        if top in OWN_PACKAGES:
            return name in ALLOWED_OWN or name.startswith("cli.")
        return (top in sys.stdlib_module_names or top in ALLOWED_PACKAGES or top.startswith("__editable__")
                or top.startswith("_sysconfigdata"))
    return [m for m in modules if not allowed(m)]


def test_every_help_screen_imports_no_command_dependencies():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    modules = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"cli.main", "cli.edi", "cli.fleet"} <= set(modules)
    assert heavy(modules) == []


def test_the_check_catches_a_heavy_import():
    # The same filter flags a heavy module when one is loaded, so the test above can fail.
    assert heavy(["sqlalchemy.orm", "playwright.async_api", "core.store.db", "portals.registry", "cli.main"]) == [
        "sqlalchemy.orm", "playwright.async_api", "core.store.db", "portals.registry"]

