"""What the dashboard holds for its lifetime: the runtime, its stores and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from argon2 import PasswordHasher

from borough.audit.trail import AuditTrail
from borough.config.models import DashboardSettings
from borough.dashboard.store import (
    ApprovalStore,
    LoginThrottle,
    SessionStore,
    User,
    UserStore,
    ensure_schema,
)
from borough.operations import Operations
from borough.runtime import Runtime

if TYPE_CHECKING:
    from borough.dashboard.schedules import ScheduleControl


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Dashboard:
    runtime: Runtime
    settings: DashboardSettings
    users: UserStore
    sessions: SessionStore
    throttle: LoginThrottle
    approvals: ApprovalStore
    clock: Callable[[], datetime]
    schedules: ScheduleControl | None = None

    @classmethod
    def open(
        cls,
        runtime: Runtime,
        *,
        settings: DashboardSettings | None = None,
        clock: Callable[[], datetime] = utcnow,
        hasher: PasswordHasher | None = None,
        schedules: ScheduleControl | None = None,
    ) -> Dashboard:
        """Create the dashboard tables if needed and wire the stores to the ledger database."""
        settings = settings or runtime.config.settings.dashboard
        engine = runtime.ledger.engine
        ensure_schema(engine)
        users = UserStore(engine, clock, hasher)
        return cls(
            runtime=runtime,
            settings=settings,
            users=users,
            sessions=SessionStore(
                engine,
                users,
                clock,
                idle=timedelta(minutes=settings.idle_minutes),
                max_age=timedelta(hours=settings.max_session_hours),
            ),
            throttle=LoginThrottle(
                engine,
                clock,
                runtime.tokenizer.digest,
                max_failures=settings.login_max_failures,
                window=timedelta(minutes=settings.login_lockout_minutes),
                max_delay=timedelta(seconds=settings.login_max_delay_seconds),
            ),
            approvals=ApprovalStore(engine, clock),
            clock=clock,
            schedules=schedules,
        )

    @cached_property
    def operations(self) -> Operations:
        """Operator actions, the same service as ``borough items`` uses."""
        return Operations(self.runtime, self.approvals, four_eyes=self.settings.four_eyes)

    def trail(self, user: User | None) -> AuditTrail:
        """The audit trail with this person as the actor of every record."""
        return self.runtime.trail.bind(actor=user.actor if user else "user:anonymous")

    @property
    def council(self) -> str:
        return self.runtime.config.settings.council
