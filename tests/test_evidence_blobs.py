"""Blob store contract: content-addressed, write-once, encrypted at rest, typed failures, key rotation."""
import errno
import os

import pytest

from core.config import Settings
from core.crypto import KeyRing
from core.errors import KeyMissing
from evidence import open_blob_store
from evidence.blobs import LocalBlobStore, reencrypt_all, sha256_hex
from evidence.errors import BlobCorrupt, BlobMissing, BlobWriteFailed
from evidence.testing import MemoryBlobStore

PHI = b"Patient: Jane Q Public, DOB 1970-01-01, member W123456789"


@pytest.fixture
def ring(tmp_path):
    return KeyRing.load(Settings(data_dir=tmp_path / "var"), create=True)


@pytest.fixture
def store(tmp_path, ring):
    return LocalBlobStore(tmp_path / "blobs", ring)


@pytest.mark.parametrize("kind", ["local", "memory"])
def test_put_returns_plaintext_sha256_and_get_round_trips(kind, store):
    s = store if kind == "local" else MemoryBlobStore()
    digest = s.put(PHI)
    assert digest == sha256_hex(PHI)
    assert s.get(digest) == PHI
    assert s.exists(digest) and list(s.iter()) == [digest]
    with pytest.raises(BlobMissing):
        s.get("0" * 64)


def test_blob_is_encrypted_at_rest_and_private(store):
    digest = store.put(PHI)
    raw = store.path_for(digest).read_bytes()
    assert b"Jane" not in raw and PHI not in raw
    assert store.path_for(digest).stat().st_mode & 0o077 == 0


def test_write_once_never_rewrites_an_existing_blob(store):
    digest = store.put(PHI)
    path = store.path_for(digest)
    before = (path.stat().st_ino, path.read_bytes())
    assert store.put(PHI) == digest
    assert (path.stat().st_ino, path.read_bytes()) == before


def test_flipped_byte_wrong_key_and_swapped_content_are_corrupt(store, tmp_path):
    digest = store.put(PHI)
    path = store.path_for(digest)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(BlobCorrupt):
        store.get(digest)
    other = store.put(b"other content")
    path.write_bytes(store.path_for(other).read_bytes())  # valid ciphertext, wrong content
    with pytest.raises(BlobCorrupt, match="different content"):
        store.get(digest)
    stranger = LocalBlobStore(store.root, KeyRing.load(Settings(data_dir=tmp_path / "other"), create=True))
    with pytest.raises(BlobCorrupt, match="does not decrypt"):
        stranger.get(other)


def test_disk_full_mid_write_raises_typed_error_and_leaves_nothing(store, monkeypatch):
    def half_then_enospc(fd, data):
        os.write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store, "_write_all", half_then_enospc)
    with pytest.raises(BlobWriteFailed, match="ENOSPC"):
        store.put(PHI)
    assert not store.exists(sha256_hex(PHI))
    assert list((store.root / "tmp").iterdir()) == []
    monkeypatch.undo()
    assert store.get(store.put(PHI)) == PHI


def test_missing_key_is_a_typed_error_not_plaintext(tmp_path):
    with pytest.raises(KeyMissing):
        open_blob_store(Settings(data_dir=tmp_path / "nokey"))


def test_reencrypt_all_moves_every_blob_to_the_new_key_and_resumes(store, ring):
    digests = [store.put(PHI), store.put(b"second"), store.put(b"third")]
    both = ring.with_new_primary()
    first = reencrypt_all(store, ring, both)
    assert (first.reencrypted, first.already_current) == (3, 0)
    # A re-run (e.g. after a crash part-way) changes nothing more.
    again = reencrypt_all(store, ring, both)
    assert (again.reencrypted, again.already_current) == (0, 3)
    new_only = LocalBlobStore(store.root, both.primary_only())
    assert [new_only.get(d) for d in digests] == [PHI, b"second", b"third"]
    old_only = LocalBlobStore(store.root, ring)
    with pytest.raises(BlobCorrupt):
        old_only.get(digests[0])


def test_reencrypt_all_refuses_to_launder_a_corrupt_blob(store, ring):
    digest = store.put(PHI)
    other = store.put(b"other")
    store.path_for(digest).write_bytes(store.path_for(other).read_bytes())
    with pytest.raises(BlobCorrupt):
        reencrypt_all(store, ring, ring.with_new_primary())
