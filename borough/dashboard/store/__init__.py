"""Dashboard state in the ledger database: accounts, sessions, sign-in failures, approvals."""

from __future__ import annotations

from borough.dashboard.store.approvals import Approval, ApprovalStatus, ApprovalStore
from borough.dashboard.store.sessions import Session, SessionStore
from borough.dashboard.store.tables import ensure_schema
from borough.dashboard.store.throttle import LoginThrottle
from borough.dashboard.store.users import Role, User, UserStore

__all__ = [
    "Approval",
    "ApprovalStatus",
    "ApprovalStore",
    "LoginThrottle",
    "Role",
    "Session",
    "SessionStore",
    "User",
    "UserStore",
    "ensure_schema",
]
