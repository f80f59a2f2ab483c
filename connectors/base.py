"""The connector contract, re-exported for connector authors (it lives in ``borough.connect``)."""

from __future__ import annotations

from borough.connect import AppServices, Connector

__all__ = ["AppServices", "Connector"]
