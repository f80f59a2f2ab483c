"""The secret-store passphrase: taken out of the environment, handed to children by pipe.

An operator's shell (or a service's environment file) gives a borough process the
passphrase in ``$BOROUGH_SECRETS_PASSPHRASE``. Everything a process starts inherits its
environment (browsers, drivers, desktop apps, X servers), so a borough process removes the
variable from its own environment the moment it reads it, keeping the value in memory
only. A borough process that starts another borough process (the scheduler or a worker
starting a run) hands the passphrase over through an inherited pipe named by
``$BOROUGH_SECRETS_FD``: never through the environment or the command line, which any
local user can read in ``/proc``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from borough.errors import SecretsError

FD_ENV = "BOROUGH_SECRETS_FD"
MAX_BYTES = 4096  # far below a pipe's buffer, so the parent never blocks writing it

_taken: dict[str, str] = {}


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


def forget_passphrases() -> None:
    """Forget passphrases taken by this process (for tests that change the environment)."""
    _taken.clear()


def _take_from_process(name: str) -> None:
    fd_text = os.environ.pop(FD_ENV, None)
    value = os.environ.pop(name, None)
    if fd_text is not None:
        _taken[name] = _read_handover(fd_text)
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
    """How a borough process gives a child borough process the passphrase."""

    env_name: str
    passphrase: str = field(repr=False)

    def child_env(self, env: Mapping[str, str], fd: int) -> dict[str, str]:
        """``env`` without the passphrase, naming the pipe the child reads it from."""
        clean = {k: v for k, v in env.items() if k not in (self.env_name, FD_ENV)}
        return {**clean, FD_ENV: str(fd)}

    @contextmanager
    def pipe(self) -> Iterator[int]:
        """A pipe holding the passphrase (written and closed); pass its fd to the child."""
        data = self.passphrase.encode("utf-8")
        if len(data) > MAX_BYTES:
            raise SecretsError(f"the secrets passphrase is longer than {MAX_BYTES} bytes")
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
