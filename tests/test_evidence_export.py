"""Export bundles verify with sha256sum alone; the CLI verifies, exports and fails loudly; all audited."""
import errno
import os
import shutil
import subprocess
import uuid
import zipfile

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from core.config import get_settings
from core.store.models import AuditEvent
from evidence import open_blob_store, open_recorder
from evidence.access import view_artifact
from evidence.errors import BlobCorrupt, ChainBroken, ExportFailed, NothingToExport
from evidence.export import Selection, export_bundle

APPEAL, OTHER_APPEAL, CLAIM = 31, 32, 77


@pytest.fixture
def evidence_store(settings, db):
    """Two appeals' evidence interleaved in one chain, as concurrent runs would leave it."""
    run = str(uuid.uuid4())
    rec = open_recorder(settings, db, run_id=run, portal="uhc", account_alias="clinic-uhc")
    rec.capture_file(b"%PDF-1.7 appeal letter", "upload_letter", name="Appeal letter.pdf",
                     media_type="application/pdf", appeal_id=APPEAL, claim_id=CLAIM)
    rec.record_event("upload_letter", "attachment.uploaded", details={"count": 1}, appeal_id=OTHER_APPEAL)
    rec.capture_file(b"<html>confirmation RC-0042</html>", "confirmation", name="confirm.html",
                     media_type="text/html", appeal_id=APPEAL, claim_id=CLAIM)
    rec.record_event("submit", "submission.confirmed", details={"tracking": "RC-0042"}, appeal_id=APPEAL)
    return open_blob_store(settings), run


def _unzip(path, tmp_path):
    dest = tmp_path / "unzipped"
    with zipfile.ZipFile(path) as zf:
        zf.extractall(dest)
    (root,) = list(dest.iterdir())
    return root


def _audit(db):
    with db.transaction() as s:
        return [(e.action, e.record_type, e.record_id, e.outcome) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def test_bundle_holds_the_slice_and_verifies_with_standard_tools(db, evidence_store, tmp_path):
    store, _ = evidence_store
    result = export_bundle(db, store, Selection(appeal_id=APPEAL), out=tmp_path / "appeal.zip", actor="custodian")
    assert (result.entries, result.files) == (5, 5)  # 2 files + 2 name sidecars + 1 event; not the other appeal
    assert oct((tmp_path / "appeal.zip").stat().st_mode & 0o777) == "0o600"
    root = _unzip(result.path, tmp_path)
    names = sorted(p.name for p in (root / "artifacts").iterdir())
    assert any(n.endswith("-upload_letter-file.pdf") for n in names)
    letter = next(p for p in (root / "artifacts").iterdir() if p.name.endswith("file.pdf"))
    assert letter.read_bytes() == b"%PDF-1.7 appeal letter"
    assert "sha256sum -c SHA256SUMS" in (root / "README.txt").read_text()
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=root, capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout.count(": OK") == 15  # 5 artifacts, 5 contents, 5 links
    script = subprocess.run(["sh", "verify.sh"], cwd=root, capture_output=True, text=True)
    assert script.returncode == 0 and "OK: bundle verified" in script.stdout, script.stdout
    assert f"chain entries checked: {result.head[0]}" in script.stdout  # from first exported entry... to head
    assert ("evidence.exported", "appeal", str(APPEAL), "ok") in _audit(db)


@pytest.mark.parametrize("tamper", ["artifact", "entry", "chain"])
def test_tampered_bundle_fails_its_own_verify_script(db, evidence_store, tmp_path, tamper):
    store, _ = evidence_store
    root = _unzip(export_bundle(db, store, Selection(claim_id=CLAIM), out=tmp_path / "c.zip").path, tmp_path)
    if tamper == "artifact":
        target = next((root / "artifacts").glob("*confirmation-file.html"))
        target.write_bytes(target.read_bytes().replace(b"RC-0042", b"RC-0043"))
    elif tamper == "entry":
        target = sorted((root / "entries").glob("*.json"))[0]
        target.write_text(target.read_text().replace("upload_letter", "upload_lettex"))
    else:
        lines = (root / "chain.tsv").read_text().splitlines()
        lines[1], lines[2] = lines[2], lines[1]
        (root / "chain.tsv").write_text("\n".join(lines) + "\n")
    script = subprocess.run(["sh", "verify.sh"], cwd=root, capture_output=True, text=True)
    assert script.returncode == 1 and "FAIL" in script.stdout


def test_export_by_run_and_bad_requests(db, evidence_store, tmp_path):
    store, run = evidence_store
    assert export_bundle(db, store, Selection(run_id=run), out=tmp_path / "run.zip").entries == 6
    with pytest.raises(NothingToExport):
        export_bundle(db, store, Selection(appeal_id=999), out=tmp_path / "none.zip")
    with pytest.raises(ExportFailed, match="already exists"):
        export_bundle(db, store, Selection(run_id=run), out=tmp_path / "run.zip")
    with pytest.raises(ValueError):
        Selection(appeal_id=1, claim_id=2)
    assert not (tmp_path / "none.zip").exists()
    assert ("evidence.exported", "appeal", "999", "failed") in _audit(db)


def test_corrupt_blob_or_full_disk_leaves_no_bundle(db, evidence_store, tmp_path, monkeypatch):
    store, _ = evidence_store
    victim = sorted(store.iter())[0]
    path = store.path_for(victim)
    original = path.read_bytes()
    path.write_bytes(original[:-5] + b"AAAAA")
    with pytest.raises(BlobCorrupt):
        export_bundle(db, store, Selection(claim_id=CLAIM), out=tmp_path / "out" / "a.zip")
    path.write_bytes(original)
    real_write = os.write

    def disk_full(fd, data):
        real_write(fd, bytes(data[:100]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("evidence.export.os.write", disk_full)
    with pytest.raises(ExportFailed, match="No space left"):
        export_bundle(db, store, Selection(claim_id=CLAIM), out=tmp_path / "out" / "a.zip")
    assert list((tmp_path / "out").iterdir()) == []


def test_viewing_an_artifact_is_audited(db, evidence_store):
    store, _ = evidence_store
    entry, data = view_artifact(db, store, 1, actor="biller-7")
    assert data == b"%PDF-1.7 appeal letter" and entry.appeal_id == APPEAL
    assert _audit(db)[-1] == ("evidence.viewed", "evidence_entry", "1", "ok")


@pytest.fixture
def cli(tmp_path, monkeypatch, settings):
    from cli.main import app

    monkeypatch.setenv("PAYERFLEET_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("PAYERFLEET_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PAYERFLEET_LOG_FORMAT", "json")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(app, list(args), catch_exceptions=False)
        # Rich wraps at the runner's 80 columns; compare on words, not line breaks.
        return result.exit_code, " ".join(result.output.split())

    yield invoke
    get_settings.cache_clear()


def test_cli_verify_reports_ok_then_names_the_broken_blob(cli, evidence_store):
    store, _ = evidence_store
    code, out = cli("evidence", "verify")
    assert code == 0, out
    assert "entries checked: 6" in out and "OK:" in out
    anchor = out.split("(anchor: ")[1].split(")")[0].replace(" ", "")
    assert cli("evidence", "verify", "--anchor", anchor)[0] == 0
    victim = sorted(store.iter())[1]
    raw = bytearray(store.path_for(victim).read_bytes())
    raw[10] ^= 0x04
    store.path_for(victim).write_bytes(bytes(raw))
    code, out = cli("evidence", "verify")
    assert code == 1
    assert f"blob {victim}: blob_corrupt" in out and "problems: 1" in out
    assert cli("evidence", "verify", "--anchor", "nonsense")[0] == 2


def test_cli_export_writes_the_bundle(cli, evidence_store, tmp_path):
    out = tmp_path / "appeal31.zip"
    code, text = cli("evidence", "export", "--appeal", str(APPEAL), "--out", str(out))
    assert code == 0, text
    assert "5 entries, 5 files" in text and zipfile.is_zipfile(out)
    assert cli("evidence", "export", "--appeal", "1", "--claim", "2")[0] == 2
    code, text = cli("evidence", "export", "--appeal", "404")
    assert code == 1 and "NothingToExport" in text


def test_cli_without_a_key_is_a_typed_error(cli, settings, tmp_path):
    shutil.rmtree(settings.data_dir, ignore_errors=True)
    code, text = cli("evidence", "verify")
    assert code == 1 and "KeyMissing" in text


def test_cli_list_and_show(cli, evidence_store, tmp_path, db):
    code, text = cli("evidence", "list", "--appeal", str(APPEAL))
    assert code == 0 and "5 entries" in text and "upload_letter" in text and "confirmation" in text
    assert "Appeal letter.pdf" not in text  # the original filename stays encrypted
    code, text = cli("evidence", "show", "1", "--out", str(tmp_path / "letter.pdf"))
    assert code == 0, text
    assert (tmp_path / "letter.pdf").read_bytes() == b"%PDF-1.7 appeal letter"
    assert cli("evidence", "show", "1", "--out", str(tmp_path / "letter.pdf"))[0] == 2  # never overwritten
    assert ("evidence.viewed", "evidence_entry", "1", "ok") in _audit(db)


def test_cli_purge_traces_reports_counts(cli, evidence_store):
    code, text = cli("evidence", "purge-traces")
    assert code == 0 and "purged 0 trace(s); 0 within retention" in text


def test_broken_chain_refuses_export_and_writes_nothing(db, evidence_store, tmp_path):
    store, _ = evidence_store
    with db.transaction() as s:  # the head row carries no trigger; an edit there breaks the chain's end
        s.execute(text("UPDATE evidence_chain_head SET entry_hash = :h"), {"h": "f" * 64})
    with pytest.raises(ChainBroken, match="chain head"):
        export_bundle(db, store, Selection(appeal_id=APPEAL), out=tmp_path / "x" / "a.zip")
    assert not (tmp_path / "x").exists() or list((tmp_path / "x").iterdir()) == []
    assert ("evidence.exported", "appeal", str(APPEAL), "failed") in _audit(db)
