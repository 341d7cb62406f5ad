"""How runs execute: one way to submit, a local (embedded) and a Procrastinate backend.

Public surface: `submit_run` (write a run row), `submit` (row + tell the backend),
`open_fleet` (a worker's backend and runtime), `Priority`, `RunInfo`, `get_run`.
"""
from fleet.backends import open_fleet, submit
from fleet.runs import Priority, RunInfo, dedupe_key, get_run, submit_run

__all__ = ["Priority", "RunInfo", "dedupe_key", "get_run", "open_fleet", "submit", "submit_run"]
