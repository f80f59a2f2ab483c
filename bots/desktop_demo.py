"""The desktop part of ``borough demo``: the casework bot keys the report into the sandbox
revenues client, on a virtual display the demo starts and stops itself.

Call :func:`run_desktop_demo` with the demo's open runtime; it stores the sandbox client's
password in the demo's secret store (the client ships with it), starts Xvfb and openbox,
lets the connector start the client, and returns the record of each run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from borough.runner import RunRequest, run_bot
from connectors.desktop import virtual_display

if TYPE_CHECKING:
    from borough.ledger import RunRecord
    from borough.observe import RunObserver
    from borough.runtime import Runtime

BOT = "casework-to-revenues-desktop"
APP = "revenues-desktop"
#: The sandbox client's built-in password (sandbox/desktop/__main__.py), demo only.
SANDBOX_PASSWORD = "Sandbox-£2026!"


def run_desktop_demo(
    runtime: Runtime,
    *,
    inputs: Mapping[str, str] | None = None,
    observer: RunObserver | None = None,
    runs: int = 1,
    trigger: str = "demo",
) -> list[RunRecord]:
    """Run the casework bot ``runs`` times on one virtual display; their run records.

    ``inputs`` overrides the report (``{"csv": "var/demo/casework_report.csv"}``, e.g. the
    file the web demo downloaded; relative to the demo home). A second run shows that
    nothing is entered twice.
    """
    store_sandbox_password(runtime)
    records = []
    with virtual_display():
        for _ in range(runs):
            request = RunRequest(BOT, inputs=dict(inputs or {}), trigger=trigger)
            records.append(run_bot(runtime, request, observer))
    return records


def store_sandbox_password(runtime: Runtime) -> None:
    """Put the sandbox client's password in the store, unless the app's secret is set."""
    credential = runtime.config.app(APP).credential or APP
    if runtime.secrets.find(credential) is None:
        runtime.secrets.set(credential, SANDBOX_PASSWORD)
