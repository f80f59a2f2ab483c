"""keyrings.cryptfile's ``CryptFileKeyring``, reading and writing through :mod:`.storefile`.

Only the file handling changes: encryption (Argon2id key per value, AES-GCM with the
service and name as associated data) is cryptfile's own, so a store stays readable by
keyrings.cryptfile itself. The slow part of a write (deriving the value's key) happens
before the lock is taken; the lock covers only re-reading, changing and replacing the file.
"""

from __future__ import annotations

import configparser
from base64 import decodebytes, encodebytes
from pathlib import Path

from keyring.errors import PasswordDeleteError
from keyrings.cryptfile.cryptfile import CryptFileKeyring
from keyrings.cryptfile.escape import escape

from borough.errors import SecretsError, WrongPassphraseError
from borough.secrets import storefile

REFERENCE_SERVICE, REFERENCE_NAME = "keyring-setting", "password reference"
REFERENCE_VALUE = "password reference value"


class LockedCryptFileKeyring(CryptFileKeyring):  # type: ignore[misc]
    """A cryptfile keyring on one file that it never rewrites in place or re-initialises."""

    _keyring_key: str

    def __init__(
        self, file: Path, passphrase: str, *, time_cost: int, memory_cost: int, parallelism: int
    ) -> None:
        super().__init__()
        self._keyring_key = passphrase
        self.file_path = str(file)
        self.file = file
        self.time_cost = time_cost
        self.memory_cost = memory_cost
        self.parallelism = parallelism

    # -- unlocking ----------------------------------------------------------------------
    def check_passphrase(self) -> None:
        """Check the passphrase against the store's reference value (one key derivation)."""
        try:
            reference = self.get_password(REFERENCE_SERVICE, REFERENCE_NAME)
        except ValueError:  # AES-GCM: "MAC check failed"
            reference = None
        if reference != REFERENCE_VALUE:
            raise WrongPassphraseError(
                f"wrong passphrase for the secret store {self.file}: the file is whole (its "
                "checksum and structure are intact) but this passphrase does not open it. Check "
                "the passphrase given to borough (the environment variable, or the service's "
                "environment file): it must be the one the store was created with"
            )

    def _init_keyring(self) -> None:
        """cryptfile would make a new store of a file it cannot read: never here."""
        raise NotImplementedError("a LockedCryptFileKeyring is given its passphrase when made")

    def new_store(self, extra: dict[str, str]) -> None:
        """Create the store file (it must not exist): reference value, scheme, version."""
        parser = configparser.RawConfigParser()
        settings = escape(REFERENCE_SERVICE)
        parser.add_section(settings)
        sealed = self.sealed(REFERENCE_SERVICE, REFERENCE_NAME, REFERENCE_VALUE)
        parser.set(settings, escape(REFERENCE_NAME), sealed)
        parser.set(settings, "scheme", self.scheme)
        parser.set(settings, "version", self.version)
        for option, value in extra.items():
            parser.set(settings, escape(option), value)
        storefile.write_store(self.file, parser, new=True)

    # -- reading --------------------------------------------------------------------------
    def read(self) -> configparser.RawConfigParser:
        parser = storefile.read_store(self.file)
        self._check_version(parser)
        return parser

    def get_password(self, service: str, username: str) -> str | None:
        parser = self.read()
        try:
            text = parser.get(escape(service), escape(username))
        except (configparser.NoOptionError, configparser.NoSectionError):
            return None
        encrypted = decodebytes(text.encode())
        assoc = self._generate_assoc(service, username)
        value: bytes = self.decrypt(encrypted, assoc)
        return value.decode("utf-8")

    # -- writing --------------------------------------------------------------------------
    def sealed(self, service: str, username: str, password: str) -> str:
        """The encrypted, encoded value as it is stored (derives a key: slow on purpose)."""
        assoc = self._generate_assoc(service, username)
        return "\n" + encodebytes(self.encrypt(password.encode("utf-8"), assoc)).decode()

    def set_password(self, service: str, username: str, password: str) -> None:
        if not username:
            raise ValueError("Username cannot be blank.")
        self._write_config_value(service, username, self.sealed(service, username, password))

    def _write_config_value(self, service: str, key: str, value: str) -> None:
        with storefile.store_lock(self.file):
            parser = self.read()
            section = escape(service)
            if not parser.has_section(section):
                parser.add_section(section)
            parser.set(section, escape(key), value)
            storefile.write_store(self.file, parser)

    def delete_password(self, service: str, username: str) -> None:
        with storefile.store_lock(self.file):
            parser = self.read()
            try:
                removed = parser.remove_option(escape(service), escape(username))
            except configparser.NoSectionError:
                removed = False
            if not removed:
                raise PasswordDeleteError("Password not found")
            storefile.write_store(self.file, parser)

    def _ensure_file_path(self) -> None:
        """The file is created whole by :meth:`new_store`, never as an empty file."""

    def upgrade(self) -> None:
        """Rewrite a store of the older format (no checksum) in the current one.

        Best effort: a store on a read-only disk is still read as it is.
        """
        older = b"[" + storefile.SETTINGS.encode()
        if not self.file.read_bytes().startswith(older):
            return
        try:
            with storefile.store_lock(self.file):
                if self.file.read_bytes().startswith(older):
                    storefile.write_store(self.file, self.read())
        except (SecretsError, OSError):
            pass
