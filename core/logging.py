"""structlog set-up: JSON or console, no locals in tracebacks, and a PHI/secret redaction net."""
from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

# Keys whose values are never logged, whatever they hold.
SECRET_KEYS = re.compile(
    r"pass(word)?|secret|token|totp|otp|cookie|storage_state|authorization|username|"
    r"patient|member|subscriber|dob|birth|ssn|first_name|last_name|^name$|address|phone|"
    r"claim_number|patient_control_number|pcn|mrn",
    re.IGNORECASE,
)
# Value shapes that look like PHI or secrets even under an innocent key.
PHI_SHAPES = [
    re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),                      # SSN
    re.compile(r"\b(19|20)\d{2}-\d{2}-\d{2}\b(?!T)"),          # ISO date (DOB / DOS)
    re.compile(r"\b\d{1,2}/\d{1,2}/(19|20)\d{2}\b"),           # US date
    re.compile(r"\b[A-Z2-7]{16,}\b"),                          # base32 TOTP seed
    re.compile(r"\b[A-Z]{0,3}\d{6,}[A-Z0-9]*\b"),               # member / claim / account numbers
    re.compile(r"gAAAAA[\w-]{20,}={0,2}"),                      # Fernet token
    re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.]+\b"),                # e-mail
]
REDACTED = "[redacted]"
# Fields the processor leaves alone (structlog's own and timing fields).
_KEEP = {"event", "level", "timestamp", "logger", "exception", "action"}


def _scrub(value: Any, by_key: bool = True) -> Any:
    if isinstance(value, str):
        for shape in PHI_SHAPES:
            value = shape.sub(REDACTED, value)
        return value
    if isinstance(value, dict):
        return {k: REDACTED if by_key and SECRET_KEYS.search(str(k)) else _scrub(v, by_key)
                for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, by_key) for v in value]
    if hasattr(value, "get_secret_value"):
        return REDACTED
    return value


def redact(_logger: Any, _name: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Safety net: callers log opaque ids, but anything PHI- or secret-shaped is masked anyway."""
    for key in list(event_dict):
        if key in _KEEP:
            if key == "exception":
                # Traceback structure (file and function names) stays; values are shape-checked.
                event_dict[key] = _scrub(event_dict[key], by_key=False)
            continue
        event_dict[key] = REDACTED if SECRET_KEYS.search(key) else _scrub(event_dict[key])
    return event_dict


class _CurrentStderr:
    """Whatever sys.stderr is at write time (test runners swap and close their streams)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(fmt: str = "console", level: str = "INFO", stream: Any = None) -> None:
    """Configure structlog once per process; tracebacks never include local variables."""
    stream = stream or _CurrentStderr()
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if fmt == "json":
        tail = [
            structlog.processors.ExceptionRenderer(structlog.tracebacks.ExceptionDictTransformer(show_locals=False)),
            redact,
            structlog.processors.JSONRenderer(),
        ]
    else:
        tail = [
            structlog.processors.format_exc_info,
            redact,
            structlog.dev.ConsoleRenderer(colors=False),
        ]
    structlog.configure(
        processors=[*shared, *tail],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
