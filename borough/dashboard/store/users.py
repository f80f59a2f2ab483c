"""Local dashboard accounts: argon2id password hashes and roles, kept in the ledger database."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Engine, Row, select, update
from sqlalchemy.exc import IntegrityError

from borough.dashboard import passwords
from borough.dashboard.store.tables import users
from borough.errors import DashboardError

NAME_RULE = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")


class Role(enum.StrEnum):
    """What an account may do in the dashboard."""

    OPERATOR = "operator"  #: watches runs, retries and resolves items, runs schedules
    AUDITOR = "auditor"  #: reads and verifies the audit trail, exports, answers SARs
    ADMIN = "admin"  #: manages dashboard accounts


def parse_roles(values: Iterable[str]) -> frozenset[Role]:
    try:
        roles = frozenset(Role(v.strip().lower()) for v in values if v.strip())
    except ValueError:
        raise DashboardError(
            f"roles are {', '.join(r.value for r in Role)}; got {', '.join(values)}"
        ) from None
    if not roles:
        raise DashboardError("an account needs at least one role")
    return roles


@dataclass(frozen=True)
class User:
    id: int
    name: str
    roles: frozenset[Role]
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None

    @property
    def actor(self) -> str:
        """How this person appears in the audit trail."""
        return f"user:{self.name}"

    def has(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def role_names(self) -> list[str]:
        return sorted(r.value for r in self.roles)


def check_password(password: str, name: str | None = None) -> None:
    """NCSC guidance: length and not a common password, over complexity rules."""
    wrong = passwords.problem(password, name)
    if wrong is not None:
        raise DashboardError(wrong)


class UserStore:
    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        hasher: PasswordHasher | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._hasher = hasher or PasswordHasher()

    @cached_property
    def _dummy_hash(self) -> str:
        """Checked against for unknown names, so they cost as much as known ones."""
        return self._hasher.hash("borough: no such account")

    def add(self, name: str, password: str, roles: Iterable[str | Role]) -> User:
        if not NAME_RULE.match(name):
            raise DashboardError(
                "an account name is 2-64 characters: lower-case letters, digits, '.', '_', '-', "
                "starting with a letter"
            )
        check_password(password, name)
        role_set = parse_roles(str(r) for r in roles)
        now = self._clock()
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    users.insert().values(
                        name=name,
                        password_hash=self._hasher.hash(password),
                        roles=" ".join(sorted(r.value for r in role_set)),
                        disabled=False,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            raise DashboardError(f"there is already an account named {name!r}") from None
        return self.require(name)

    def get(self, name: str) -> User | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.name == name)).first()
        return None if row is None else _to_user(row)

    def get_by_id(self, user_id: int) -> User | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.id == user_id)).first()
        return None if row is None else _to_user(row)

    def require(self, name: str) -> User:
        user = self.get(name)
        if user is None:
            raise DashboardError(f"no dashboard account named {name!r}")
        return user

    def list(self) -> list[User]:
        with self._engine.connect() as conn:
            return [_to_user(row) for row in conn.execute(select(users).order_by(users.c.name))]

    def count_active_admins(self) -> int:
        return sum(1 for u in self.list() if not u.disabled and u.has(Role.ADMIN))

    def set_disabled(self, name: str, disabled: bool) -> User:
        self._update(name, disabled=disabled)
        return self.require(name)

    def set_roles(self, name: str, roles: Iterable[str | Role]) -> User:
        role_set = parse_roles(str(r) for r in roles)
        self._update(name, roles=" ".join(sorted(r.value for r in role_set)))
        return self.require(name)

    def set_password(self, name: str, password: str) -> User:
        check_password(password, name)
        self._update(name, password_hash=self._hasher.hash(password))
        return self.require(name)

    def authenticate(self, name: str, password: str) -> User | None:
        """The account if the password is right and it is enabled; same cost when not."""
        with self._engine.connect() as conn:
            row = conn.execute(select(users).where(users.c.name == name)).first()
        stored = str(row.password_hash) if row is not None else self._dummy_hash
        try:
            self._hasher.verify(stored, password[: passwords.MAX_PASSWORD])
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None or row.disabled:
            return None
        values: dict[str, Any] = {"last_login_at": self._clock()}
        if self._hasher.check_needs_rehash(stored):
            values["password_hash"] = self._hasher.hash(password)
        with self._engine.begin() as conn:
            conn.execute(update(users).where(users.c.id == row.id).values(**values))
        return self.get_by_id(row.id)

    def _update(self, name: str, **values: Any) -> None:
        with self._engine.begin() as conn:
            result = conn.execute(
                update(users).where(users.c.name == name).values(updated_at=self._clock(), **values)
            )
        if result.rowcount != 1:
            raise DashboardError(f"no dashboard account named {name!r}")


def _to_user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        name=row.name,
        roles=frozenset(Role(r) for r in row.roles.split()),
        disabled=bool(row.disabled),
        created_at=row.created_at,
        last_login_at=row.last_login_at,
    )
