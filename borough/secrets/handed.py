"""The warm start of a scheduled run: what the scheduler hands a run instead of the passphrase.

A run's process that unlocks the secret store pays a deliberately slow Argon2 derivation
(about a second). The scheduler (or a worker) has unlocked it once already, so it hands
each run, through the same inherited pipe as the passphrase (never argv or environment),
only what that run needs: borough's keys (to sign the trail, make tokens and seal item
data) and the values of the secrets its bot uses — the ``credential:`` of each app in its
config, and the names it lists under ``secrets:``. The run never sees the passphrase and
cannot read or change any other secret.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from borough.config.loader import Config
from borough.errors import SecretsError
from borough.secrets.store import SecretStore, check_name

#: the first line of a bundle on the pipe (a passphrase never starts with a NUL)
MAGIC = "\0borough-run-bundle-v1\n"


@dataclass(frozen=True)
class RunBundle:
    """borough's keys and the named secrets one run may use."""

    keys: str = field(repr=False)  #: ``KeyMaterial.dumps()``
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    missing: tuple[str, ...] = ()  #: secrets the bot uses that the store does not hold

    def dumps(self) -> str:
        body = {"keys": self.keys, "secrets": self.secrets, "missing": list(self.missing)}
        return MAGIC + json.dumps(body)

    @classmethod
    def loads(cls, text: str) -> RunBundle:
        try:
            body = json.loads(text.removeprefix(MAGIC))
            return cls(str(body["keys"]), dict(body["secrets"]), tuple(body["missing"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise SecretsError(f"the secrets handed to this run are damaged ({exc})") from None


def is_bundle(text: str) -> bool:
    return text.startswith(MAGIC)


def secrets_for(config: Config, bot: str) -> list[str]:
    """The secrets a run of ``bot`` uses: its apps' credentials and its ``secrets:``."""
    bot_config = config.bot_config(bot)
    if bot_config is None:
        return []
    names = [
        config.apps[app].credential
        for app in bot_config.apps
        if app in config.apps and config.apps[app].credential
    ]
    return sorted({*(name for name in names if name), *bot_config.secrets})


class HandedSecrets(SecretStore):
    """The secrets handed to a run: readable by name, nothing else (no file is opened)."""

    def __init__(
        self,
        file: Path,
        bundle: RunBundle,
        *,
        on_value: Callable[[str], None] | None = None,
    ) -> None:
        self.file = file
        self._cache = dict(bundle.secrets)
        self._missing = set(bundle.missing)
        self._on_value = on_value or (lambda value: None)
        for value in self._cache.values():
            self._on_value(value)

    def verify(self) -> None:
        """Nothing to check: the scheduler unlocked the store."""

    def has(self, name: str) -> bool:
        return name in self._cache

    def find(self, name: str) -> str | None:
        check_name(name)
        if name in self._cache:
            return self._cache[name]
        if name in self._missing:
            return None
        raise SecretsError(
            f"secret {name!r} was not handed to this scheduled run: a run gets the credentials "
            f"of the apps in its bot's config, and the secrets listed under `secrets:` there; "
            f"add {name!r} to that list"
        )

    def names(self) -> list[str]:
        return sorted(self._cache)

    def set(self, name: str, value: str) -> None:
        raise SecretsError("a scheduled run cannot change the secret store")

    def delete(self, name: str) -> None:
        raise SecretsError("a scheduled run cannot change the secret store")

    @contextmanager
    def locked(self) -> Iterator[None]:
        raise SecretsError("a scheduled run cannot change the secret store")
        yield  # pragma: no cover

    def reveal_passphrase(self) -> str:
        raise SecretsError("this run was handed its secrets, not the passphrase")


def bundle_for(store: SecretStore, keys: str, names: list[str]) -> RunBundle:
    """The bundle of ``keys`` and the named secrets as ``store`` holds them now."""
    store.forget_if_changed()  # an operator's `borough secrets set` reaches the next run
    values: dict[str, str] = {}
    missing: list[str] = []
    for name in names:
        value = store.find(name)
        if value is None:
            missing.append(name)
        else:
            values[name] = value
    return RunBundle(keys, values, tuple(missing))
