"""One router per area of the dashboard."""

from __future__ import annotations
