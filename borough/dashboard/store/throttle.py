"""Sign-in throttling that slows guessing down but never locks a right password out for long.

Two rules, both bounded by ``max_delay`` (the documented "at most N seconds"):

* **Per account.** After ``max_failures`` failures for one account name (from anywhere)
  within the window, each further attempt on it waits 1, 2, 4 … seconds after the last
  failure, up to ``max_delay``. A browser that signed in to that account before shows a
  device token (a cookie) and is not held back by other people's failures on it, until
  that device itself fails ``max_failures`` times.
* **Per address.** Once an address (the client's, behind trusted proxies) has failed
  ``max_failures × 4`` times within the window, every account name tried from it is paced:
  its first try is held for ``max_delay``, then it may be tried once per ``max_delay``.
  So a flood of made-up names from an office's shared address costs someone signing in
  from it at most ``max_delay``, however long the flood goes on, while a guesser there
  gets one try per name per ``max_delay``.

Attempts are kept in the database as keyed fingerprints (a mistyped name may be
personal data), so a restart does not reset them and several dashboard processes agree.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, Engine, delete, func, select

from borough.dashboard.store.tables import login_failures as attempts

#: An address may fail this many times the per-account limit before it is paced.
CLIENT_FACTOR = 4
#: Attempts older than the window are deleted at most this often (a flood is many writes).
PRUNE_EVERY = timedelta(minutes=1)


class Kind(enum.StrEnum):
    FAILED = "failed"  #: the password was checked and was wrong
    HELD = "held"  #: not checked: the name was tried from a paced address too soon


@dataclass(frozen=True)
class Hold:
    """Why and for how long a sign-in is held back."""

    wait: timedelta
    rule: str  #: "account" or "address"

    @property
    def seconds(self) -> int:
        return max(1, int(-(-self.wait.total_seconds() // 1)))


class LoginThrottle:
    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        fingerprint: Callable[[str], str],
        *,
        max_failures: int,
        window: timedelta,
        max_delay: timedelta,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._fingerprint = fingerprint
        self.max_failures = max_failures
        self.window = window
        self.max_delay = max_delay
        self._pruned: datetime | None = None

    def account_key(self, account: str) -> str:
        return self._fingerprint("account:" + account.strip().casefold())[:64]

    def _client_key(self, client: str) -> str:
        return self._fingerprint("client:" + client)[:64]

    def _device_key(self, device: str) -> str:
        return self._fingerprint("device:" + device)[:64]

    def check(self, account: str, client: str, device: str | None = None) -> Hold | None:
        """Whether to hold this attempt back now (``None``: go on and check the password).

        ``device`` is the device token of a browser that signed in to ``account`` before
        (already checked against it): it exempts the attempt from both rules until that
        device has itself failed ``max_failures`` times.
        """
        now = self._clock()
        since = now - self.window
        account_key, client_key = self.account_key(account), self._client_key(client)
        with self._engine.connect() as conn:
            if device is not None:
                device_failures = self._failures(
                    conn, attempts.c.device, self._device_key(device), since
                )
                if device_failures < self.max_failures:
                    return None
            hold = self._account_hold(conn, account_key, since, now)
            if hold is not None:
                return hold
            client_failures = self._failures(conn, attempts.c.client, client_key, since)
            if client_failures < self.max_failures * CLIENT_FACTOR:
                return None
            last = conn.execute(
                select(func.max(attempts.c.at)).where(
                    attempts.c.client == client_key,
                    attempts.c.account == account_key,
                    attempts.c.at > since,
                )
            ).scalar()
        if last is None:  # first try of this name from a paced address: due max_delay from now
            self._record(Kind.HELD, account_key, client_key, None)
            return Hold(self.max_delay, "address")
        wait = self.max_delay - (now - last)
        return Hold(wait, "address") if wait > timedelta(0) else None

    def _account_hold(
        self, conn: Connection, account_key: str, since: datetime, now: datetime
    ) -> Hold | None:
        count, last = conn.execute(
            select(func.count(), func.max(attempts.c.at)).where(
                attempts.c.account == account_key,
                attempts.c.kind == Kind.FAILED.value,
                attempts.c.at > since,
            )
        ).one()
        if count < self.max_failures or last is None:
            return None
        step = timedelta(seconds=2 ** min(int(count) - self.max_failures, 20))
        wait = min(step, self.max_delay) - (now - last)
        return Hold(wait, "account") if wait > timedelta(0) else None

    @staticmethod
    def _failures(conn: Connection, column: ColumnElement[str], key: str, since: datetime) -> int:
        query = select(func.count()).where(
            column == key, attempts.c.kind == Kind.FAILED.value, attempts.c.at > since
        )
        return int(conn.execute(query).scalar_one())

    def failed(self, account: str, client: str, device: str | None = None) -> None:
        device_key = self._device_key(device) if device else None
        self._record(Kind.FAILED, self.account_key(account), self._client_key(client), device_key)

    def _record(self, kind: Kind, account_key: str, client_key: str, device: str | None) -> None:
        now = self._clock()
        with self._engine.begin() as conn:
            conn.execute(
                attempts.insert().values(
                    account=account_key, client=client_key, device=device, kind=kind.value, at=now
                )
            )
            if self._pruned is None or now - self._pruned > PRUNE_EVERY:
                conn.execute(delete(attempts).where(attempts.c.at < now - self.window))
                self._pruned = now

    def succeeded(self, account: str) -> None:
        """A right password clears that account's failures and holds, wherever they came from."""
        with self._engine.begin() as conn:
            conn.execute(delete(attempts).where(attempts.c.account == self.account_key(account)))

    def failures(self, account: str) -> int:
        since = self._clock() - self.window
        with self._engine.connect() as conn:
            return self._failures(conn, attempts.c.account, self.account_key(account), since)
