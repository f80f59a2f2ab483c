"""Caseflow: a simulated legacy benefits casework web app (frames, popups, faults).

Start one with :func:`serve_in_thread` or :func:`serve_in_subprocess`; read what it holds
with :func:`read_counts` or :class:`CaseStore`.
"""

from __future__ import annotations

from sandbox.web.app import CaseworkApp
from sandbox.web.config import SandboxConfig
from sandbox.web.server import RunningSandbox, running, serve_in_subprocess, serve_in_thread
from sandbox.web.store import Case, CaseStore, read_counts

__all__ = [
    "Case",
    "CaseStore",
    "CaseworkApp",
    "RunningSandbox",
    "SandboxConfig",
    "read_counts",
    "running",
    "serve_in_subprocess",
    "serve_in_thread",
]
