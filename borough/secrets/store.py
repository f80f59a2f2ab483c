"""The secret store: keyring's encrypted-file backend, headless, passphrase from the environment.

Values are AES-GCM encrypted at rest under an Argon2 key derived from the operator's
passphrase (``keyrings.cryptfile``). Every value read or written is registered with the
redactor so that it can never reach a log in clear.
"""

from __future__ import annotations

import configparser
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from borough.errors import SecretsError

if TYPE_CHECKING:
    from keyrings.cryptfile.cryptfile import CryptFileKeyring

SERVICE = "borough"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_KDF_SECTION = "keyring-setting"
_KDF_OPTION = "borough-kdf"


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
    from keyrings.cryptfile.escape import escape

    if not file.exists():
        return None
    parser = configparser.RawConfigParser()
    parser.read(file, encoding="utf-8")
    section, option = escape(_KDF_SECTION), escape(_KDF_OPTION)
    if not parser.has_option(section, option):
        return None
    return KdfParams.loads(parser.get(section, option), file)


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise SecretsError(
            f"invalid secret name {name!r}: use lower-case letters, digits, '.', '_' or '-' "
            "(up to 64 characters)"
        )
    return name


class SecretStore:
    """Named secrets in one encrypted file; values are cached for the life of the process."""

    def __init__(
        self,
        file: Path,
        passphrase: str,
        *,
        on_value: Callable[[str], None] | None = None,
        new_store_kdf: KdfParams = STRONG_KDF,
    ) -> None:
        if not passphrase:
            raise SecretsError("the secrets passphrase is empty")
        self.file = file
        self._on_value = on_value or (lambda value: None)
        self._cache: dict[str, str] = {}
        self._keyring = self._unlock(file, passphrase, new_store_kdf)

    @staticmethod
    def _unlock(file: Path, passphrase: str, new_store_kdf: KdfParams) -> CryptFileKeyring:
        from keyrings.cryptfile.cryptfile import CryptFileKeyring

        file.parent.mkdir(parents=True, exist_ok=True)
        creating = not file.exists()
        kdf = new_store_kdf if creating else (recorded_kdf(file) or STRONG_KDF)
        keyring = CryptFileKeyring()
        keyring.file_path = str(file)
        keyring.time_cost = kdf.time_cost
        keyring.memory_cost = kdf.memory_cost
        keyring.parallelism = kdf.parallelism
        try:
            keyring.keyring_key = passphrase
        except ValueError as exc:  # "MAC check failed" on a wrong passphrase
            raise SecretsError(
                f"cannot unlock the secret store {file}: wrong passphrase ({exc})"
            ) from None
        if creating and kdf != STRONG_KDF:
            keyring._write_config_value(_KDF_SECTION, _KDF_OPTION, kdf.dumps())
        if file.exists():
            file.chmod(0o600)
        return keyring

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
            value = self._keyring.get_password(SERVICE, name)
            if value is None:
                return None
            self._cache[name] = value
            self._on_value(value)
        return self._cache[name]

    def set(self, name: str, value: str) -> None:
        check_name(name)
        if not value:
            raise SecretsError(f"refusing to store an empty value for secret {name!r}")
        self._on_value(value)
        self._keyring.set_password(SERVICE, name, value)
        self.file.chmod(0o600)
        self._cache[name] = value

    def delete(self, name: str) -> None:
        check_name(name)
        if self._keyring.get_password(SERVICE, name) is None:
            raise SecretsError(f"no secret named {name!r} to delete")
        self._keyring.delete_password(SERVICE, name)
        self._cache.pop(name, None)

    def names(self) -> list[str]:
        """Names of stored secrets (never their values)."""
        from keyrings.cryptfile.escape import unescape

        if not self.file.exists():
            return []
        parser = configparser.RawConfigParser()
        parser.read(self.file, encoding="utf-8")
        section = SERVICE
        if not parser.has_section(section):
            return []
        return sorted(unescape(option) for option in parser.options(section))


def open_store(
    file: Path,
    *,
    passphrase_env: str = "BOROUGH_SECRETS_PASSPHRASE",
    env: Mapping[str, str] | None = None,
    on_value: Callable[[str], None] | None = None,
) -> SecretStore:
    """Open the store with the passphrase from ``passphrase_env``; never prompts."""
    env = os.environ if env is None else env
    passphrase = env.get(passphrase_env, "")
    if not passphrase:
        raise SecretsError(
            f"the secret store is locked: set the environment variable {passphrase_env} to its "
            "passphrase (the operator chooses it on first use; keep it out of shell history "
            "and config files)"
        )
    return SecretStore(file, passphrase, on_value=on_value)
