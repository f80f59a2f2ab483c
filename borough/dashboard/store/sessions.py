"""Server-side sessions: the browser holds a random token; the database holds its hash.

A session ends when idle too long, when too old, at sign-out, or when its account is
disabled or its password changed. Each session has its own CSRF token.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, or_, select, update

from borough.dashboard.store.tables import sessions
from borough.dashboard.store.users import User, UserStore

#: How often a busy session's ``last_seen_at`` is written (not on every request).
TOUCH_EVERY = timedelta(seconds=30)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


@dataclass(frozen=True)
class Session:
    id: str
    user: User
    csrf: str
    created_at: datetime
    last_seen_at: datetime


class SessionStore:
    def __init__(
        self,
        engine: Engine,
        users: UserStore,
        clock: Callable[[], datetime],
        *,
        idle: timedelta,
        max_age: timedelta,
    ) -> None:
        self._engine = engine
        self._users = users
        self._clock = clock
        self.idle = idle
        self.max_age = max_age

    def create(self, user: User) -> tuple[str, Session]:
        """A new session for ``user``; returns the cookie value (shown once) and the session."""
        token = secrets.token_urlsafe(32)
        now = self._clock()
        session = Session(_hash(token), user, secrets.token_urlsafe(32), now, now)
        with self._engine.begin() as conn:
            conn.execute(
                sessions.insert().values(
                    id=session.id,
                    user_id=user.id,
                    csrf=session.csrf,
                    created_at=now,
                    last_seen_at=now,
                )
            )
        return token, session

    def lookup(self, token: str | None) -> Session | None:
        """The live session for a cookie value; expired or orphaned sessions are removed."""
        if not token:
            return None
        key = _hash(token)
        with self._engine.connect() as conn:
            row = conn.execute(select(sessions).where(sessions.c.id == key)).first()
        if row is None:
            return None
        now = self._clock()
        user = self._users.get_by_id(row.user_id)
        expired = now - row.last_seen_at > self.idle or now - row.created_at > self.max_age
        if expired or user is None or user.disabled:
            self._delete(key)
            return None
        if now - row.last_seen_at > TOUCH_EVERY:
            with self._engine.begin() as conn:
                conn.execute(update(sessions).where(sessions.c.id == key).values(last_seen_at=now))
        return Session(key, user, row.csrf, row.created_at, now)

    def end(self, session: Session) -> None:
        self._delete(session.id)

    def end_all(self, user: User) -> int:
        """Sign ``user`` out everywhere (password changed, account disabled)."""
        with self._engine.begin() as conn:
            return int(conn.execute(delete(sessions).where(sessions.c.user_id == user.id)).rowcount)

    def purge_expired(self) -> int:
        now = self._clock()
        with self._engine.begin() as conn:
            result = conn.execute(
                delete(sessions).where(
                    or_(
                        sessions.c.last_seen_at < now - self.idle,
                        sessions.c.created_at < now - self.max_age,
                    )
                )
            )
        return int(result.rowcount)

    def set_flash(self, session: Session, message: str) -> None:
        """A one-time message for the next page this session sees (after a redirect)."""
        with self._engine.begin() as conn:
            conn.execute(update(sessions).where(sessions.c.id == session.id).values(flash=message))

    def pop_flash(self, session: Session) -> str | None:
        """Read without a write lock (most pages have no message); clear only if there is one."""
        query = select(sessions.c.flash).where(sessions.c.id == session.id)
        with self._engine.connect() as conn:
            message: str | None = conn.execute(query).scalar_one_or_none()
        if message is not None:
            with self._engine.begin() as conn:
                conn.execute(
                    update(sessions)
                    .where(sessions.c.id == session.id, sessions.c.flash == message)
                    .values(flash=None)
                )
        return message

    def _delete(self, key: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.id == key))
