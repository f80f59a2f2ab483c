"""The ops and audit dashboard (``borough serve dashboard``): FastAPI + Jinja2 + GOV.UK Frontend.

Operators watch runs and settle items, auditors read and verify the trail, admins manage
accounts. Needs the ``dashboard`` extra; importing this package imports nothing heavy.
"""

from __future__ import annotations
