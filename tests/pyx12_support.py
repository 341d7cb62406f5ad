"""Validate X12 text against the implementation guides with pyx12 (a test-only dependency: tests use it as
an independent oracle for our writers and the sandbox's files; production code never imports it)."""
from __future__ import annotations

import io
import json
import logging
from typing import Any


def pyx12_errors(text: str) -> list[str]:
    """Every error pyx12 reports for `text`; an empty list means the file validates clean."""
    import pyx12.params
    import pyx12.x12n_document

    logger = logging.getLogger("pyx12")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)  # errors come back in the JSON report, not on stderr
    try:
        report = io.StringIO()
        valid = pyx12.x12n_document.x12n_document(pyx12.params.params(), io.StringIO(text), None, None,
                                                  None, report)
    finally:
        logger.setLevel(previous)
    errors = list(_collect(json.loads(report.getvalue() or "{}")))
    if not valid and not errors:
        errors.append("pyx12 reported the document invalid")
    return errors


def _collect(node: Any, where: str = "") -> Any:
    if isinstance(node, dict):
        here = node.get("seg_id") or node.get("trn_set_id") or where
        for err in node.get("errors", []) or []:
            yield f"{here}: {err.get('err_cde', '')} {err.get('err_str', err)}".strip()
        for key, value in node.items():
            if key != "errors":
                yield from _collect(value, here)
    elif isinstance(node, list):
        for item in node:
            yield from _collect(item, where)
