"""One hierarchy of typed errors; each type has one decided consequence (see ARCHITECTURE.md)."""


class PayerfleetError(Exception):
    """A payerfleet operation failed."""

    def __init__(self, message: str | None = None):
        super().__init__(message or (self.__doc__ or "").strip())


class ConfigError(PayerfleetError):
    """The configuration is invalid."""


class KeyMissing(PayerfleetError):
    """No encryption key is configured or present; refusing to fall back to plaintext."""


class KeyInvalid(PayerfleetError):
    """The encryption key is malformed."""


class DecryptionFailed(PayerfleetError):
    """Ciphertext could not be decrypted: wrong key or tampered data."""


class StoreError(PayerfleetError):
    """The denial store could not complete the operation."""


class DatabaseUnavailable(StoreError):
    """The database cannot be reached."""


class SchemaOutOfDate(StoreError):
    """The database schema is not at the latest migration; run `payerfleet db upgrade`."""


class NotFound(PayerfleetError):
    """The requested record does not exist."""


class AccountExists(PayerfleetError):
    """A portal account with this alias already exists."""
