"""Packages talk down, never up (ARCHITECTURE.md 'What may import what')."""
import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP = {"core", "portals", "automations", "evidence", "fleet", "scheduler", "fixtures", "web", "cli"}
ALLOWED = {
    "core": set(),
    "portals": set(),
    "evidence": {"core"},
    "automations": {"core", "portals", "evidence"},
    "fleet": {"core", "portals", "evidence", "automations"},
    "scheduler": {"core", "fleet"},
    "fixtures": {"core.edi"},
    "web": {"core", "evidence"},
    "cli": TOP,
}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _allowed(package: str, module: str) -> bool:
    top = module.split(".")[0]
    if top not in TOP or top == package:
        return True
    return any(module == rule or module.startswith(rule + ".") or top == rule for rule in ALLOWED[package])


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_it_may(package):
    files = [ROOT / "scheduler.py"] if package == "scheduler" else sorted((ROOT / package).rglob("*.py"))
    bad = [f"{f.relative_to(ROOT)} imports {m}" for f in files if f.exists() for m in _imports(f)
           if not _allowed(package, m)]
    assert not bad, bad


def test_shipped_code_imports_only_its_declared_runtime_dependencies():
    """A third-party import in a shipped package needs its distribution in pyproject `dependencies`
    (test-only tools such as pyx12 and pytest stay in tests/ and the `test` extra)."""
    import re
    import sys
    import tomllib
    from importlib.metadata import packages_distributions

    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    declared = {norm(re.split(r"[\[<>=!~ ;]", d, maxsplit=1)[0])
                for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    distributions = packages_distributions()
    files = [ROOT / "scheduler.py", *(f for p in sorted(TOP - {"scheduler"}) for f in sorted((ROOT / p).rglob("*.py"))
                                      if f.name != "pytest_plugin.py")]  # loaded by pytest only, which it imports
    bad = []
    for f in files:
        for module in _imports(f):
            top = module.split(".")[0]
            if top in TOP or top in sys.stdlib_module_names:
                continue
            if not {norm(d) for d in distributions.get(top, [])} & declared:
                bad.append(f"{f.relative_to(ROOT)} imports {module}")
    assert not bad, bad


# Ways a test or benchmark could reach outside the checkout (a clean clone has nothing beside it).
OUTSIDE = re.compile(r"""parents\[\d+\]\.parent\b|\.parent\.parent\.parent|["']\.\./|/ ["']shared["']|/work/""")


def test_tests_and_benchmarks_read_only_the_checkout():
    files = [f for folder in ("tests", "bench", "fixtures") for f in sorted((ROOT / folder).rglob("*.py"))
             if f != Path(__file__).resolve()]
    bad = [f"{f.relative_to(ROOT)}:{n}" for f in files
           for n, line in enumerate(f.read_text().splitlines(), 1) if OUTSIDE.search(line)]
    assert not bad, bad
