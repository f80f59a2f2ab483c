"""The secret-store passphrase: taken out of the environment, handed to children by pipe.

An operator's shell (or a service's environment file) gives a borough process the
passphrase in ``$BOROUGH_SECRETS_PASSPHRASE``. Everything a process starts inherits its
environment (browsers, drivers, desktop apps, X servers), so a borough process removes the
variable from its own environment the moment it reads it, keeping the value in memory
only. A borough process that starts another borough process (the scheduler or a worker
starting a run) hands the passphrase over through an inherited pipe named by
``$BOROUGH_SECRETS_FD``: never through the environment or the command line, which any
local user can read in ``/proc``. A scheduler that has unlocked the store itself hands a
run its keys and secrets instead, so the run pays no key derivation
(:mod:`borough.secrets.handed`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from borough.errors import SecretsError

FD_ENV = "BOROUGH_SECRETS_FD"
MAX_BYTES = 4096  # far below a pipe's buffer, so the parent never blocks writing it

_taken: dict[str, str] = {}
_handed: list[str] = []  # a run bundle read from the pipe (at most one)


def take_passphrase(name: str, env: Mapping[str, str] | None = None) -> str:
    """The passphrase for this process ("" when none was given).

    This process's environment is cleared of ``name`` and of ``BOROUGH_SECRETS_FD`` first
    (the value is remembered for later opens in this process). With ``env`` given
    (tests, the demo) the value comes from ``env``.
    """
    _take_from_process(name)
    if env is not None:
        return env.get(name, "")
    return _taken.get(name, "")


def require_passphrase(name: str, env: Mapping[str, str] | None = None) -> str:
    """:func:`take_passphrase`, or a clear error saying which variable to set."""
    passphrase = take_passphrase(name, env)
    if not passphrase:
        raise SecretsError(
            f"the secret store is locked: set the environment variable {name} to its "
            "passphrase (the operator chooses it on first use; keep it out of shell history "
            "and config files)"
        )
    return passphrase


def take_bundle(name: str) -> str | None:
    """The run bundle a scheduler handed this process through the pipe, if it handed one
    (then there is no passphrase: see :mod:`borough.secrets.handed`)."""
    _take_from_process(name)
    return _handed[0] if _handed else None


def forget_passphrases() -> None:
    """Forget passphrases taken by this process (for tests that change the environment)."""
    _taken.clear()
    _handed.clear()


def _take_from_process(name: str) -> None:
    from borough.secrets.handed import is_bundle

    fd_text = os.environ.pop(FD_ENV, None)
    value = os.environ.pop(name, None)
    if fd_text is not None:
        text = _read_handover(fd_text)
        if is_bundle(text):
            _handed[:] = [text]
        else:
            _taken[name] = text
    elif value:
        _taken[name] = value


def _read_handover(fd_text: str) -> str:
    try:
        fd = int(fd_text)
        chunks = []
        while chunk := os.read(fd, MAX_BYTES + 1):
            chunks.append(chunk)
        os.close(fd)
    except (ValueError, OSError) as exc:
        raise SecretsError(
            f"{FD_ENV}={fd_text!r} does not name a readable pipe ({exc}); it is set by the "
            "scheduler for the runs it starts: to start borough yourself, unset it and set "
            "BOROUGH_SECRETS_PASSPHRASE"
        ) from None
    return b"".join(chunks).decode("utf-8")


@dataclass(frozen=True)
class Handover:
    """How a borough process gives a child borough process the passphrase, or (``warm``,
    for a run of a known bot) the keys and secrets that run needs instead."""

    env_name: str
    passphrase: str = field(repr=False)
    warm: Callable[[str], str | None] | None = field(default=None, repr=False, compare=False)

    def child_env(self, env: Mapping[str, str], fd: int) -> dict[str, str]:
        """``env`` without the passphrase, naming the pipe the child reads it from."""
        clean = {k: v for k, v in env.items() if k not in (self.env_name, FD_ENV)}
        return {**clean, FD_ENV: str(fd)}

    def payload(self, bot: str | None = None) -> bytes:
        """What goes down the pipe: a run bundle for ``bot`` when one can be made and fits
        in a pipe's smallest buffer, else the passphrase."""
        if bot is not None and self.warm is not None:
            bundle = self.warm(bot)
            if bundle is not None and len(bundle.encode("utf-8")) <= MAX_BYTES:
                return bundle.encode("utf-8")
        data = self.passphrase.encode("utf-8")
        if len(data) > MAX_BYTES:
            raise SecretsError(f"the secrets passphrase is longer than {MAX_BYTES} bytes")
        return data

    @contextmanager
    def pipe(self, bot: str | None = None) -> Iterator[int]:
        """A pipe holding the payload (written and closed); pass its fd to the child."""
        data = self.payload(bot)
        read_fd, write_fd = os.pipe()
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(write_fd, view) :]
            finally:
                os.close(write_fd)
            yield read_fd
        finally:
            os.close(read_fd)
