"""Terminal output pieces: live progress draws only on a terminal; tables fit the width, cut no cell."""
import io

from rich.console import Console

from cli.output import Column, fitted_table
from cli.progress import Activity
from fleet.runtime import RunEvent


def test_progress_draws_on_a_terminal_only_and_leaves_a_line_per_finished_run():
    def show(terminal: bool) -> str:
        out = io.StringIO()
        with Activity(Console(file=out, force_terminal=terminal, color_system=None, width=80)) as shown:
            with shown.step("ingest"):
                shown.watch(RunEvent("r1", "claim_status_pull", "uhc-1", "running"))
                shown.watch(RunEvent("r1", "claim_status_pull", "uhc-1", "running", "claims", 3, 10))
                shown.watch(RunEvent("r1", "claim_status_pull", "uhc-1", "succeeded"))
                shown.watch(RunEvent("r2", "era_pull", "[uhc-2]", "failed", error_type="PortalUnavailable"))
        return out.getvalue()

    assert show(terminal=False) == ""
    drawn = show(terminal=True)
    assert "✓ uhc-1 claim_status_pull: succeeded" in drawn
    assert "✗ [uhc-2] era_pull: PortalUnavailable" in drawn


def test_a_narrow_terminal_drops_the_least_important_columns_whole():
    out = io.StringIO()
    columns = [Column("id", 0, "right"), Column("note", 3, wraps=True), Column("amount", 1, "right"),
               Column("due", 2)]
    rows = [(7, "[sic] a long free-text note that wraps", "1,234,567.89", "2027-10-01")]
    fitted_table(columns, rows, out=Console(file=out, width=40, color_system=None))
    text = out.getvalue()
    assert "1,234,567.89" in text and "2027-10-01" in text and "[sic]" in text and "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 40
    narrow = io.StringIO()
    fitted_table(columns, rows, out=Console(file=narrow, width=24, color_system=None))
    words = " ".join(narrow.getvalue().split())
    assert "1,234,567.89" in words and "not shown at 24 columns: note, due" in words


def test_an_error_and_a_help_text_keep_their_bracketed_words(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from cli.main import app
    from core.config import get_settings

    (tmp_path / "payerfleet.toml").write_text('[schedule]\ndaily_time = "25:00"\n')
    monkeypatch.setenv("PAYERFLEET_CONFIG", str(tmp_path / "payerfleet.toml"))
    monkeypatch.setenv("PAYERFLEET_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    failed = CliRunner().invoke(app, ["scheduler", "--list"])
    get_settings.cache_clear()
    assert failed.exit_code == 1 and "invalid [schedule]: daily_time" in " ".join(failed.output.split())
    shown = CliRunner().invoke(app, ["worker", "--help"])
    assert "(default: [fleet] backend)" in " ".join(shown.output.split())
