"""Tables of the ledger (SQLAlchemy Core) and the schema version this code reads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

#: 2: borough_seats (licence seats), borough_audit_anchors, borough_runners;
#: 3: the audit index, the trail's writers and the last verified point of each trail (issue 20);
#: borough_runs.fire_key (a schedule's fire time is recorded once, whichever scheduler),
#: borough_runners.beat_seconds (each runner's heartbeat interval)
SCHEMA_VERSION = 3


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the ledger; use UTC-aware times")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


metadata = MetaData()

meta = Table(
    "borough_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

runs = Table(
    "borough_runs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("bot", String(100), nullable=False),
    Column("bot_version", String(40), nullable=False),
    Column("trigger", String(200), nullable=False),
    Column("schedule", String(200)),
    Column("status", String(40), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer),
    Column("pid_start", String(40)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime),
    Column("ended_at", UTCDateTime),
    Column("heartbeat_at", UTCDateTime),
    Column("fire_time", UTCDateTime),
    Column("counts", Text, nullable=False, default="{}"),
    Column("error", Text),
    Column("audit_seq_end", Integer),
    Column("detail", Text, nullable=False, default="{}"),
    #: ``SCHEDULE@FIRE_TIME`` on the row that records a fire (trigger ``schedule:``), else
    #: NULL: two schedulers that both think they are active cannot record one fire twice
    Column("fire_key", String(255)),
    Index("ix_runs_bot_created", "bot", "created_at"),
    Index("ix_runs_status", "status"),
    Index("uq_runs_fire_key", "fire_key", unique=True),
)

items = Table(
    "borough_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bot", String(100), nullable=False),
    Column("key_token", String(64), nullable=False),
    Column("state", String(20), nullable=False),
    Column("attempt", Integer, nullable=False, default=0),
    Column("fence", Integer, nullable=False, default=0),
    Column("owner_run", String(40)),
    Column("not_before", UTCDateTime),
    Column("reference", String(200)),
    Column("error", Text),
    Column("invalid", Boolean, nullable=False, default=False),
    Column("source", String(500)),
    Column("payload", LargeBinary),
    Column("digest", String(64)),
    Column("subjects", Text, nullable=False, default=""),
    Column("data_categories", Text, nullable=False, default=""),
    Column("first_run", String(40)),
    Column("last_run", String(40)),
    Column("resolution", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("bot", "key_token", name="uq_items_bot_key"),
    Index("ix_items_claim", "bot", "state", "id"),
    Index("ix_items_owner", "owner_run"),
)

#: Licence seats (``max_sessions`` of an app) held by runs: one row per taken seat. The
#: primary key makes two holders of one slot impossible on every store.
seats = Table(
    "borough_seats",
    metadata,
    Column("app", String(100), primary_key=True),
    Column("slot", Integer, primary_key=True, autoincrement=False),
    Column("run_id", String(40), nullable=False),
    Column("host", String(255), nullable=False),
    Column("acquired_at", UTCDateTime, nullable=False),
    Index("ix_seats_run", "run_id"),
)

#: Runner machines of a scale-out installation (``borough serve worker``): one row per host,
#: renewed while the worker lives, so ``borough status`` can list them across machines.
runners = Table(
    "borough_runners",
    metadata,
    Column("host", String(255), primary_key=True),
    Column("pid", Integer, nullable=False),
    Column("queues", Text, nullable=False, default="[]"),
    Column("concurrency", Integer, nullable=False, default=1),
    Column("version", String(40), nullable=False, default=""),
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
    Column("stopped_at", UTCDateTime),
    #: how often this runner renews ``heartbeat_at`` (its scheduler.worker_heartbeat_seconds)
    Column("beat_seconds", Float),
)

#: Signed points of each writer's audit trail (version 2): appended at every signed
#: checkpoint, never rewritten by the trail's writer; ``kind`` "restart" starts a new chain.
audit_anchors = Table(
    "borough_audit_anchors",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("trail", String(255), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("ts", String(40), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("signature", Text, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Index("ix_audit_anchors_trail", "trail", "id"),
)

#: The audit index (version 3): one row per record of every writer's trail, derived from
#: the files (``borough audit reindex`` rebuilds it). ``segment`` is the first seq of the
#: segment file holding the record, ``byte_offset``/``length`` where its line is.
audit_index = Table(
    "borough_audit_index",
    metadata,
    Column("trail", String(255), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("ts", String(32), nullable=False),
    Column("action", String(100)),
    Column("outcome", String(40)),
    Column("run_id", String(64)),
    Column("bot", String(100)),
    Column("item", String(64)),
    Column("actor", String(255)),
    Column("segment", BigInteger, nullable=False),
    Column("byte_offset", BigInteger, nullable=False),
    Column("length", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_index_ts", "ts", "trail", "seq"),
    Index("ix_audit_index_run", "run_id", "ts"),
    Index("ix_audit_index_item", "item", "ts"),
    Index("ix_audit_index_action", "action", "ts"),
    Index("ix_audit_index_actor", "actor", "ts"),
)

#: How far each trail's index is known to be complete: every record up to ``seq`` (whose
#: line ends at ``byte_offset`` in segment ``segment``) is indexed.
audit_index_marks = Table(
    "borough_audit_index_marks",
    metadata,
    Column("trail", String(255), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("segment", BigInteger, nullable=False),
    Column("byte_offset", BigInteger, nullable=False),
)

#: Person tokens of each record (its item's token and its subjects), for subject access.
audit_people = Table(
    "borough_audit_people",
    metadata,
    Column("token", String(64), primary_key=True),
    Column("ts", String(32), primary_key=True),
    Column("trail", String(255), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
)

#: Every writer (runner machine) of the installation's trails and its public key.
audit_writers = Table(
    "borough_audit_writers",
    metadata,
    Column("trail", String(255), primary_key=True),
    Column("public_key", Text, nullable=False),
    Column("folder", Text),
    Column("registered_at", UTCDateTime, nullable=False),
)

#: The last point of each trail that ``audit verify`` proved, signed by the verifier.
audit_verified = Table(
    "borough_audit_verified",
    metadata,
    Column("trail", String(255), primary_key=True),
    Column("verifier", String(255), primary_key=True),
    Column("state", Text, nullable=False),
    Column("verified_at", UTCDateTime, nullable=False),
)
