"""The application's process: started from ``command`` when no window of it is showing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from borough.errors import ConnectorError
from connectors.desktop.display import stop_process


def expand_command(command: Sequence[str], home: Path) -> list[str]:
    """Replace ``{python}`` (this interpreter) and ``{home}`` (BOROUGH_HOME) in each part."""
    return [
        part.replace("{python}", sys.executable).replace("{home}", str(home)) for part in command
    ]


class AppProcess:
    """A launched app; its output goes to a log file kept with the run."""

    def __init__(self, name: str, command: list[str], cwd: Path, log_path: Path) -> None:
        self.name = name
        self.command = command
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        try:
            self.process = subprocess.Popen(
                command,
                cwd=cwd,
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
