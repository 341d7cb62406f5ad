"""`payerfleet sandbox`: exports reproducible data; serves, prints accounts and stops cleanly on Ctrl-C."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import httpx
from typer.testing import CliRunner

from cli.main import app


def test_export_writes_identical_files_for_the_same_seed(tmp_path):
    runner = CliRunner()
    for name in ("a", "b"):
        result = runner.invoke(app, ["sandbox", "--seed", "4", "--claims", "60", "--export", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert files_a == files_b and any(str(p).startswith("835/") for p in files_a)
    assert all((tmp_path / "a" / p).read_bytes() == (tmp_path / "b" / p).read_bytes() for p in files_a)


def test_serves_prints_accounts_and_stops_on_ctrl_c():
    proc = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "payerfleet"), "sandbox", "--claims", "30", "--availity-port", "0", "--uhc-port", "0",
         "--caqh-port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        output = "".join(lines)
        urls = re.findall(r"^(availity|uhc|caqh): (http://127\.0\.0\.1:\d+/\S+)$", output, re.M)
        assert [name for name, _ in urls] == ["availity", "uhc", "caqh"]
        assert "TOTP secret" in output and "sbx.pm" in output
        for _, url in urls:
            assert httpx.get(url, timeout=10).status_code == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
