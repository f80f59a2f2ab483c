"""Several runs of the casework desktop bot on one virtual display, as the demo does.

:func:`run_desktop_demo` stores the sandbox client's password in the installation's secret
store (the client ships with it), starts Xvfb and openbox, lets the connector start the
client, and returns the record of each run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from borough.runner import RunRequest, run_bot
from borough_examples.demo import store_sandbox_password
from connectors.desktop import virtual_display

if TYPE_CHECKING:
    from borough.ledger import RunRecord
    from borough.observe import RunObserver
    from borough.runtime import Runtime

BOT = "casework-to-revenues-desktop"


def run_desktop_demo(
    runtime: Runtime,
    *,
    inputs: Mapping[str, str] | None = None,
    observer: RunObserver | None = None,
    runs: int = 1,
    trigger: str = "demo",
) -> list[RunRecord]:
    """Run the casework bot ``runs`` times on one virtual display; their run records.

    ``inputs`` overrides the report (relative to the home); a second run shows that
    nothing is entered twice.
    """
    store_sandbox_password(runtime)
    records = []
    with virtual_display():
        for _ in range(runs):
            request = RunRequest(BOT, inputs=dict(inputs or {}), trigger=trigger)
            records.append(run_bot(runtime, request, observer))
    return records
