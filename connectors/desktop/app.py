"""The application's process: started from ``command`` when no window of it is showing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from borough.errors import ConnectorError
from connectors.desktop.display import stop_process


def expand_command(command: Sequence[str], home: Path) -> list[str]:
    """Replace ``{python}`` (this interpreter) and ``{home}`` (BOROUGH_HOME) in each part."""
    return [_expand(part, home) for part in command]


def app_environment(env: Mapping[str, str], home: Path) -> dict[str, str] | None:
    """The run's environment plus the app's ``env:`` (expanded as the command is); None
    (inherit it as it is) when the app sets nothing."""
    if not env:
        return None
    return {**os.environ, **{name: _expand(value, home) for name, value in env.items()}}


def _expand(part: str, home: Path) -> str:
    return part.replace("{python}", sys.executable).replace("{home}", str(home))


class AppProcess:
    """A launched app; its output goes to a log file kept with the run."""

    def __init__(
        self,
        name: str,
        command: list[str],
        cwd: Path,
        log_path: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.command = command
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        try:
            self.process = subprocess.Popen(
                command,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl+C meant for the bot does not kill the app
            )
        except FileNotFoundError:
            self._log.close()
            raise ConnectorError(
                f"cannot start app {name!r}: {command[0]!r} not found (check command: in "
                "config/apps.yaml)"
            ) from None
        except OSError as exc:
            self._log.close()
            raise ConnectorError(f"cannot start app {name!r}: {exc}") from None

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def exit_report(self) -> str:
        """Why it stopped: exit status and the last lines it printed."""
        self._log.flush()
        tail = self.log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        last = " | ".join(tail[-3:]) if tail else "no output"
        return f"exit status {self.process.poll()}; last output: {last}"

    def stop(self) -> None:
        try:
            stop_process(self.process)
        finally:
            self._log.close()
