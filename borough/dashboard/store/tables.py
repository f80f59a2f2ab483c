"""The dashboard's tables: their own metadata and their own version key in ``borough_meta``.

The ledger's ``schema_version`` covers only the ledger's tables, so a dashboard release can
change its tables without touching the ledger's version (and a ledger without the
dashboard never has them). Same rule as the ledger: refuse a version this code does not read.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from borough.errors import DashboardError, LedgerError
from borough.ledger import migrate
from borough.ledger.schema import UTCDateTime

SCHEMA_VERSION = 2
VERSION_KEY = "dashboard_schema_version"

metadata = MetaData()

users = Table(
    "borough_dash_users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("roles", String(100), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("last_login_at", UTCDateTime),
)

sessions = Table(
    "borough_dash_sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # SHA-256 of the cookie value, never the value
    Column(
        "user_id", Integer, ForeignKey("borough_dash_users.id", ondelete="CASCADE"), nullable=False
    ),
    Column("csrf", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("flash", Text),
    Index("ix_dash_sessions_user", "user_id"),
)

login_failures = Table(
    "borough_dash_login_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account", String(64), nullable=False),  # keyed fingerprint of the name typed
    Column("client", String(64), nullable=False),  # keyed fingerprint of the address
    Column("at", UTCDateTime, nullable=False),
    # v2: holds are recorded too (see throttle.py), and the device token's fingerprint
    Column("kind", String(10), nullable=False, server_default="failed"),
    Column("device", String(64)),
    Index("ix_dash_failures_account", "account", "at"),
    Index("ix_dash_failures_client", "client", "at"),
    Index("ix_dash_failures_device", "device", "at"),
)

approvals = Table(
    "borough_dash_approvals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, nullable=False),
    Column("item_fence", Integer, nullable=False),
    Column("from_state", String(20), nullable=False),
    Column("to_state", String(20), nullable=False),
    Column("reason", Text, nullable=False),
    Column("reference", String(200)),
    Column("requested_by", String(64), nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("status", String(20), nullable=False),
    Column("decided_by", String(64)),
    Column("decided_at", UTCDateTime),
    Column("note", Text),
    Column("batch_id", Integer),  # v2: requests made together (a bulk action) share one
    Index("ix_dash_approvals_status", "status", "item_id"),
    Index("ix_dash_approvals_batch", "batch_id"),
)


def ensure_schema(engine: Engine) -> None:
    """Create the dashboard tables on first use, upgrade older ones, refuse newer ones."""
    try:
        migrate.prepare_tables(
            engine,
            metadata,
            key=VERSION_KEY,
            version=SCHEMA_VERSION,
            what="dashboard part of the ledger",
        )
    except LedgerError as exc:
        raise DashboardError(str(exc)) from None
