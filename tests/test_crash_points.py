"""Crash points: the PAYERFLEET_CRASH_AT format and when the injector fires."""
import os
import signal
import subprocess
import sys

import pytest

from fleet.crash import CrashInjector, CrashPoint, parse
from fleet.errors import InvalidCrashPoint


def test_parse_accepts_the_documented_format():
    assert parse("reconsideration_submit:after_submit_click") == (
        CrashPoint("reconsideration_submit", "after_submit_click", 1),)
    assert parse(" era_pull:after_download@3 , a:b ") == (CrashPoint("era_pull", "after_download", 3),
                                                          CrashPoint("a", "b", 1))
    assert parse("") == ()


@pytest.mark.parametrize("bad", ["nocolon", ":x", "a:", "a:b@", "a:b@0", "a:b@x"])
def test_parse_rejects_malformed_points(bad):
    with pytest.raises(InvalidCrashPoint):
        parse(bad)


def test_injector_fires_only_at_the_named_point_and_arrival():
    kills = []
    injector = CrashInjector(parse("era_pull:after_download@2"), kill=lambda: kills.append(1))
    injector.reached("era_pull", "before_download")
    injector.reached("claim_status_pull", "after_download")
    injector.reached("era_pull", "after_download")
    assert kills == []
    injector.reached("era_pull", "after_download")
    assert kills == [1]
    injector.reached("era_pull", "after_download")
    assert kills == [1]


def test_the_real_kill_is_sigkill_of_this_process():
    code = ("from fleet.crash import CrashInjector\n"
            "CrashInjector.from_env().reached('a', 'b')\n"
            "print('survived')\n")
    env = {**os.environ, "PAYERFLEET_CRASH_AT": "a:b"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert "survived" not in proc.stdout
    env["PAYERFLEET_CRASH_AT"] = "a:c"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout.strip()) == (0, "survived")
