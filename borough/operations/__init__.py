"""Operator actions on items — retry, resolve, mark done, bulk, four-eyes approvals — in
one place, used by both ``borough items`` and the dashboard (see ``service.py``)."""

from __future__ import annotations

from borough.operations import bulk
from borough.operations.service import (
    OVERRIDES,
    Operations,
    Operator,
    Outcome,
    check_override,
)

__all__ = ["OVERRIDES", "Operations", "Operator", "Outcome", "bulk", "check_override"]
