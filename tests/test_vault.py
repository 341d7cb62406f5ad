"""Vault: secrets encrypted at rest, wrong/missing key and tampering are typed errors."""
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import select, update

from core.crypto import KeyRing
from core.errors import AccountExists, DecryptionFailed, KeyInvalid, KeyMissing, NotFound
from core.store.models import VaultSecret
from core.vault import Credentials, Vault

CREDS = Credentials(username="biller7", password="hunter2-Pa55!", totp_secret="JBSWY3DPEHPK3PXP")


@pytest.fixture
def vault(db, settings):
    return Vault(db, KeyRing.load(settings, create=True))


def test_credentials_round_trip_and_are_not_stored_in_plaintext(vault, db):
    account_id = vault.add_account(alias="availity-main", portal="availity", base_url="http://127.0.0.1:1",
                                   credentials=CREDS)
    got = vault.get_credentials(account_id)
    assert got.password.get_secret_value() == "hunter2-Pa55!"
    assert got.totp_secret.get_secret_value() == "JBSWY3DPEHPK3PXP"
    with db.transaction() as s:
        blob = s.scalar(select(VaultSecret.ciphertext))
    assert b"hunter2" not in blob and b"JBSWY3DP" not in blob and b"biller7" not in blob


def test_secrets_are_secretstr_and_never_in_repr():
    assert isinstance(CREDS.password, SecretStr)
    assert "hunter2" not in repr(CREDS) and "JBSWY3DP" not in str(CREDS)


def test_duplicate_alias_is_refused(vault):
    vault.add_account(alias="uhc", portal="uhc", base_url="http://x", credentials=CREDS)
    with pytest.raises(AccountExists):
        vault.add_account(alias="uhc", portal="uhc", base_url="http://x", credentials=CREDS)


def test_storage_state_round_trip_and_clear(vault):
    account_id = vault.add_account(alias="caqh", portal="caqh", base_url="http://x", credentials=CREDS)
    assert vault.get_storage_state(account_id) is None
    state = {"cookies": [{"name": "sid", "value": "abc"}], "origins": []}
    vault.put_storage_state(account_id, state)
    assert vault.get_storage_state(account_id) == state
    assert [a.has_session for a in vault.list_accounts()] == [True]
    vault.clear_storage_state(account_id)
    assert vault.get_storage_state(account_id) is None


def test_wrong_key_is_a_typed_error_not_plaintext(vault, db):
    account_id = vault.add_account(alias="a", portal="availity", base_url="http://x", credentials=CREDS)
    stranger = Vault(db, KeyRing((Fernet.generate_key(),), "test"))
    with pytest.raises(DecryptionFailed):
        stranger.get_credentials(account_id)


def test_tampered_ciphertext_is_detected(vault, db):
    account_id = vault.add_account(alias="a", portal="availity", base_url="http://x", credentials=CREDS)
    with db.transaction() as s:
        token = bytearray(s.scalar(select(VaultSecret.ciphertext)))
        token[40] ^= 0x01
        s.execute(update(VaultSecret).values(ciphertext=bytes(token)))
    with pytest.raises(DecryptionFailed):
        vault.get_credentials(account_id)


def test_missing_key_is_refused_without_create(settings):
    with pytest.raises(KeyMissing):
        KeyRing.load(settings)


def test_key_file_is_private(settings):
    KeyRing.load(settings, create=True)
    assert settings.key_file.stat().st_mode & 0o777 == 0o600


def test_malformed_key_is_a_typed_error(settings):
    settings.key_file.parent.mkdir(parents=True)
    settings.key_file.write_text("not-a-key\n")
    with pytest.raises(KeyInvalid):
        KeyRing.load(settings)


def test_rotation_reencrypts_every_secret_and_old_key_is_retired(vault, settings):
    ids = [vault.add_account(alias=f"acct{i}", portal="uhc", base_url="http://x", credentials=CREDS) for i in range(3)]
    vault.put_storage_state(ids[0], {"cookies": []})
    old = vault.keys
    both = old.with_new_primary()
    assert vault.reencrypt_all(both) == 4
    new_only = both.primary_only()
    rotated = Vault(vault.db, new_only)
    assert all(rotated.get_credentials(i).password.get_secret_value() == "hunter2-Pa55!" for i in ids)
    with pytest.raises(DecryptionFailed):
        Vault(vault.db, old).get_credentials(ids[0])


def test_removed_account_loses_its_secrets(vault):
    account_id = vault.add_account(alias="gone", portal="uhc", base_url="http://x", credentials=CREDS)
    vault.remove_account("gone")
    assert vault.list_accounts() == []
    with pytest.raises(NotFound):
        vault.get_credentials(account_id)
