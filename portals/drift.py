"""Drift detection: record the ARIA structure of a portal's landmark pages and report changes.

Snapshots are reduced to structure before they are stored or compared: names are kept only
for controls and headings outside table rows, values and URLs are dropped and runs of identical
siblings (result rows) collapse to one, so data never lands in a baseline and new data is not
drift, while a renamed button, a lost label or a moved form is.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from portals.definition import PortalDefinition
from portals.errors import PortalError

# Roles whose accessible name is part of the page's structure (what scripts locate by).
NAMED_ROLES = frozenset({
    "heading", "button", "link", "textbox", "searchbox", "combobox", "checkbox", "radio", "tab",
    "tablist", "columnheader", "navigation", "form", "dialog", "table", "grid", "region", "main",
    "banner", "spinbutton", "menuitem", "listbox", "group", "tabpanel", "iframe",
})
# Attributes that describe structure; state (checked, expanded, selected, disabled) is not drift.
KEPT_ATTRS = ("level",)
_LINE = re.compile(r'^(?P<indent>\s*)- (?P<body>.*)$')
_NODE = re.compile(r'^(?P<role>[a-z/][\w/-]*)(?: "(?P<name>(?:[^"\\]|\\.)*)")?(?P<attrs>(?: \[[^\]]*\])*)(?P<rest>:.*)?$')


@dataclass
class _Node:
    label: str
    children: list["_Node"]


def _label(body: str, in_row: bool) -> tuple[str | None, str]:
    m = _NODE.match(body)
    if not m:
        return None, ""
    role = m.group("role")
    if role.startswith("/"):  # "/url: ..." and similar properties are data
        return None, role
    label = role
    if m.group("name") is not None and role in NAMED_ROLES and (not in_row or role == "columnheader"):
        label += f' "{m.group("name")}"'
    attrs = re.findall(r"\[([^\]=]+)(?:=([^\]]*))?\]", m.group("attrs") or "")
    for key, value in attrs:
        if key in KEPT_ATTRS:
            label += f" [{key}={value}]" if value else f" [{key}]"
    return label, role


def _parse(snapshot: str) -> list[_Node]:
    root = _Node("", [])
    stack: list[tuple[int, _Node, bool]] = [(-1, root, False)]
    for line in snapshot.splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        indent = len(m.group("indent"))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent_in_row = stack[-1][2]
        label, role = _label(m.group("body"), parent_in_row)
        if label is None:
            # Skipped lines still open a level so their children do not climb to the parent.
            stack.append((indent, _Node("", []), parent_in_row))
            continue
        node = _Node(label, [])
        stack[-1][1].children.append(node)
        stack.append((indent, node, parent_in_row or role in ("row", "listitem", "option")))
    return root.children


def _render(nodes: list[_Node], depth: int = 0) -> list[str]:
    out: list[str] = []
    previous: list[str] | None = None
    for node in nodes:
        block = ["  " * depth + "- " + node.label] + _render(node.children, depth + 1)
        if block != previous:  # a run of identical rows is one row of structure
            out.extend(block)
        previous = block
    return out


def normalize(snapshot: str) -> str:
    """The structural skeleton of a Playwright ARIA snapshot (no data, no state)."""
    return "\n".join(_render(_parse(snapshot))) + "\n"


@dataclass(frozen=True)
class LandmarkReport:
    name: str
    # "unchanged" | "changed" | "new" (no baseline yet) | "unreachable" (the page did not load)
    status: str
    diff: str = ""
    screenshot: bytes | None = None
    error: str = ""


def baseline_path(directory: Path, landmark: str) -> Path:
    return directory / f"{landmark}.aria.yml"


async def check(session, portal: PortalDefinition, baseline_dir: Path, *, record: bool = False) -> list[LandmarkReport]:
    """Open each landmark in the live session and compare (or, with record, store) its structure."""
    reports: list[LandmarkReport] = []
    for landmark in portal.landmarks:
        try:
            root = await landmark.open(session)
            current = normalize(await root.aria_snapshot())
        except PortalError as exc:
            shot = await session.page.screenshot(full_page=True)
            reports.append(LandmarkReport(landmark.name, "unreachable", screenshot=shot,
                                          error=f"{type(exc).__name__}: {exc}"))
            continue
        path = baseline_path(baseline_dir, landmark.name)
        if record:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(current)
            reports.append(LandmarkReport(landmark.name, "new"))
            continue
        if not path.exists():
            reports.append(LandmarkReport(landmark.name, "new", screenshot=await session.page.screenshot(full_page=True)))
            continue
        baseline = path.read_text()
        if baseline == current:
            reports.append(LandmarkReport(landmark.name, "unchanged"))
            continue
        diff = "".join(difflib.unified_diff(baseline.splitlines(True), current.splitlines(True),
                                            f"{landmark.name} (recorded)", f"{landmark.name} (now)"))
        reports.append(LandmarkReport(landmark.name, "changed", diff=diff,
                                      screenshot=await session.page.screenshot(full_page=True)))
    return reports
