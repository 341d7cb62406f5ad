"""`payerfleet portals new NAME`: copy portals/template/ into a new portal package."""
from __future__ import annotations

from pathlib import Path
from string import Template

TEMPLATE_DIR = Path(__file__).parent / "template"
SUFFIX = ".tmpl"


class ScaffoldExists(FileExistsError):
    """The target package folder already exists; nothing was written."""


def create(name: str, title: str, dest: Path) -> list[Path]:
    """Write the package (all files or none) and a contract test next to the repo's tests."""
    target = dest / name
    if target.exists():
        raise ScaffoldExists(f"{target} already exists")
    values = {"name": name, "title": title, "ENV": name.upper()}
    rendered: list[tuple[Path, str]] = []
    for source in sorted(TEMPLATE_DIR.rglob(f"*{SUFFIX}")):
        relative = source.relative_to(TEMPLATE_DIR).with_suffix("")  # drop .tmpl
        text = Template(source.read_text()).substitute(values)
        if relative.parts[0] == "tests":
            path = dest.parent / "tests" / relative.name.replace("NAME", name)
        else:
            path = target / relative
        rendered.append((path, text))
    written: list[Path] = []
    try:
        for path, text in rendered:
            if path.exists():
                raise ScaffoldExists(f"{path} already exists")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            written.append(path)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    (target / "landmarks").mkdir(exist_ok=True)
    return written
