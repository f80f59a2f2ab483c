"""The secret store: keyring's encrypted-file backend, headless, never prompting.

Values are AES-GCM encrypted at rest under an Argon2 key derived from the operator's
passphrase (``keyrings.cryptfile``). Every value read or written is registered with the
redactor so that it can never reach a log in clear. Writes are locked and atomic, and a
store is created only when asked (:mod:`.storefile`); opening one never makes one.
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from borough.errors import SecretsError, StoreDamagedError
from borough.secrets import storefile

if TYPE_CHECKING:
    from borough.secrets.cryptfile import LockedCryptFileKeyring

SERVICE = "borough"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_KDF_OPTION = "borough_2dkdf"  # "borough-kdf", escaped as cryptfile escapes names


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost of deriving a value's key from the passphrase (kept in the store file).

    The cost is read back from the file, so a store made with cheap parameters (the test
    helpers' throw-away homes) opens cheaply and a production store keeps its strong ones.
    Changing the recorded cost cannot weaken a store: its values would no longer decrypt.
    """

    time_cost: int
    memory_cost: int  # KiB
    parallelism: int

    def dumps(self) -> str:
        return f"argon2id:t={self.time_cost},m={self.memory_cost},p={self.parallelism}"

    @classmethod
    def loads(cls, text: str, file: Path) -> KdfParams:
        try:
            kind, _, rest = text.partition(":")
            if kind != "argon2id":
                raise ValueError(kind)
            fields = dict(part.split("=", 1) for part in rest.split(","))
            params = cls(int(fields["t"]), int(fields["m"]), int(fields["p"]))
        except (ValueError, KeyError) as exc:
            raise SecretsError(
                f"the secret store {file} records an unreadable key-derivation setting "
                f"{text!r} ({exc}); restore the file from its backup"
            ) from None
        low_memory = params.memory_cost < 8 * params.parallelism
        if params.time_cost < 1 or params.parallelism < 1 or low_memory:
            raise SecretsError(f"the secret store {file} records invalid key-derivation costs")
        return params


#: keyrings.cryptfile's own defaults (about 0.7 s per value on a council VM).
STRONG_KDF = KdfParams(time_cost=15, memory_cost=2**16, parallelism=2)
#: For throw-away test installations only (``borough.testing``); never for real secrets.
TEST_ONLY_KDF = KdfParams(time_cost=1, memory_cost=8, parallelism=1)


def recorded_kdf(file: Path) -> KdfParams | None:
    """The cost recorded in an existing store (``None``: a store of cryptfile's defaults)."""
    return _kdf_in(storefile.read_store(file), file) if file.exists() else None


def _kdf_in(parser: configparser.RawConfigParser, file: Path) -> KdfParams | None:
    if not parser.has_option(storefile.SETTINGS, _KDF_OPTION):
        return None
    return KdfParams.loads(parser.get(storefile.SETTINGS, _KDF_OPTION), file)


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise SecretsError(
            f"invalid secret name {name!r}: use lower-case letters, digits, '.', '_' or '-' "
            "(up to 64 characters)"
        )
    return name


def _keyring(file: Path, passphrase: str, kdf: KdfParams) -> LockedCryptFileKeyring:
    from borough.secrets.cryptfile import LockedCryptFileKeyring

    _check_passphrase(passphrase)
    return LockedCryptFileKeyring(
        file,
        passphrase,
        time_cost=kdf.time_cost,
        memory_cost=kdf.memory_cost,
        parallelism=kdf.parallelism,
    )


class SecretStore:
    """Named secrets in one encrypted file; values are cached for the life of the process.

    Open an existing store with :meth:`open`, make a new one with :meth:`create`. The
    passphrase is checked before the first write, and by the first value read (each check
    costs a deliberately slow key derivation, so a runtime pays for one, not two).
    """

    def __init__(
        self,
        file: Path,
        keyring: LockedCryptFileKeyring,
        passphrase: str,
        *,
        on_value: Callable[[str], None] | None = None,
        verified: bool = False,
    ) -> None:
        self.file = file
        self._keyring = keyring
        self._passphrase = passphrase
        self._on_value = on_value or (lambda value: None)
        self._cache: dict[str, str] = {}
        self._verified = verified
        self._cached_file: tuple[int, int, int] | None = self._file_state()

    @classmethod
    def open(
        cls,
        file: Path,
        passphrase: str,
        *,
        on_value: Callable[[str], None] | None = None,
        verify: bool = True,
    ) -> SecretStore:
        """Open the store at ``file``: missing, damaged and wrong passphrase each say so.

        With ``verify=False`` the passphrase is checked by the first read or write instead.
        """
        kdf = _kdf_in(storefile.read_store(file), file) or STRONG_KDF  # missing, damaged
        keyring = _keyring(file, passphrase, kdf)
        store = cls(file, keyring, passphrase, on_value=on_value)
        if verify:
            store.verify()
        keyring.upgrade()
        return store

    def verify(self) -> None:
        """Check the passphrase (:class:`~borough.errors.WrongPassphraseError` if wrong)."""
        if not self._verified:
            self._keyring.check_passphrase()
            self._verified = True

    @classmethod
    def create(
        cls,
        file: Path,
        passphrase: str,
        *,
        kdf: KdfParams = STRONG_KDF,
        on_value: Callable[[str], None] | None = None,
    ) -> SecretStore:
        """Make a new, empty store at ``file``; an existing file is never replaced."""
        keyring = _keyring(file, passphrase, kdf)
        extra = {} if kdf == STRONG_KDF else {"borough-kdf": kdf.dumps()}
        try:
            keyring.new_store(extra)
        except FileExistsError:
            raise SecretsError(f"a secret store exists at {file}; not replacing it") from None
        return cls(file, keyring, passphrase, on_value=on_value, verified=True)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store's exclusive lock (other processes' writes wait)."""
        with storefile.store_lock(self.file):
            yield

    def forget_if_changed(self) -> bool:
        """Forget cached values if the file was rewritten since they were read (a long-lived
        process, such as the scheduler, then hands runs the new values)."""
        state = self._file_state()
        if state == self._cached_file:
            return False
        self._cache.clear()
        self._cached_file = state
        return True

    def _file_state(self) -> tuple[int, int, int] | None:
        try:
            stat = self.file.stat()
        except OSError:
            return None
        return (stat.st_ino, stat.st_size, stat.st_mtime_ns)

    def has(self, name: str) -> bool:
        """Whether ``name`` is stored, read from the file now (no key derivation)."""
        return holds(self.file, name)

    def get(self, name: str) -> str:
        """The value of secret ``name``; a clear error says how to set it when absent."""
        value = self.find(name)
        if value is None:
            raise SecretsError(
                f"no secret named {name!r} in {self.file}; set it with `borough secrets set {name}`"
            )
        return value

    def find(self, name: str) -> str | None:
        check_name(name)
        if name not in self._cache:
            try:
                value = self._keyring.get_password(SERVICE, name)
            except ValueError:
                self.verify()  # a wrong passphrase says so; else the value itself is damaged
                raise StoreDamagedError(
                    f"the secret {name!r} in the store {self.file} cannot be decrypted although "
                    f"the passphrase opens the store: the value is damaged; "
                    f"{storefile.RESTORE_HINT}"
                ) from None
            if value is None:
                return None
            self._verified = True  # AES-GCM opened it: the passphrase is right
            self._cache[name] = value
            self._on_value(value)
        return self._cache[name]

    def set(self, name: str, value: str) -> None:
        check_name(name)
        if not value:
            raise SecretsError(f"refusing to store an empty value for secret {name!r}")
        self.verify()
        self._on_value(value)
        self._keyring.set_password(SERVICE, name, value)
        self._cache[name] = value
        self._cached_file = self._file_state()  # our own write: the cache is current

    def delete(self, name: str) -> None:
        from keyring.errors import PasswordDeleteError

        check_name(name)
        self.verify()
        try:
            self._keyring.delete_password(SERVICE, name)
        except PasswordDeleteError:
            raise SecretsError(f"no secret named {name!r} to delete") from None
        self._cache.pop(name, None)

    def names(self) -> list[str]:
        """Names of stored secrets (never their values)."""
        from keyrings.cryptfile.escape import unescape

        parser = self._keyring.read()
        if not parser.has_section(SERVICE):
            return []
        return sorted(unescape(option) for option in parser.options(SERVICE))

    def reveal_passphrase(self) -> str:
        """The passphrase, only to hand it to a child borough process through a pipe
        (:class:`borough.secrets.passphrase.Handover`); never log or store it."""
        return self._passphrase


def holds(file: Path, name: str) -> bool:
    """Whether the store at ``file`` holds secret ``name`` (read now, nothing decrypted)."""
    from keyrings.cryptfile.escape import escape

    option = str(escape(check_name(name))).lower()  # configparser folds names to lower case
    return storefile.read_store(file).has_option(SERVICE, option)


def _check_passphrase(passphrase: str) -> None:
    if not passphrase:
        raise SecretsError("the secrets passphrase is empty")
