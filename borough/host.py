"""The name this machine goes by in the ledger and the audit trail.

``BOROUGH_HOST`` overrides the system host name: runner machines cloned from one image, or
several runners on one machine in tests, each need a name of their own, because a run's
liveness is judged by its process only on the host that recorded it.
"""

from __future__ import annotations

import os
import socket


def host_name() -> str:
    return os.environ.get("BOROUGH_HOST") or socket.gethostname()
