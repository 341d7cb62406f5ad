"""Packages talk down, never up (ARCHITECTURE.md 'What may import what')."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP = {"core", "portals", "automations", "evidence", "fleet", "scheduler", "fixtures", "cli"}
ALLOWED = {
    "core": set(),
    "portals": set(),
    "evidence": {"core"},
    "automations": {"core", "portals", "evidence"},
    "fleet": {"core", "portals", "evidence", "automations"},
    "scheduler": {"core", "fleet"},
    "fixtures": {"core.edi"},
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
