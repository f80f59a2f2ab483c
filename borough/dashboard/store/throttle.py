"""Sign-in throttling: too many failures for one account, or from one address, lock it out.

Failures are kept in the database (so a restart does not reset them, and several
dashboard processes agree) as keyed fingerprints: a mistyped name may be personal data.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, select

from borough.dashboard.store.tables import login_failures

#: An address may fail this many times the per-account limit (many accounts, one attacker).
CLIENT_FACTOR = 4


class LoginThrottle:
    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        fingerprint: Callable[[str], str],
        *,
        max_failures: int,
        window: timedelta,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._fingerprint = fingerprint
        self.max_failures = max_failures
        self.window = window

    def _keys(self, account: str, client: str) -> tuple[str, str]:
        return (
            self._fingerprint("account:" + account.strip().casefold())[:64],
            self._fingerprint("client:" + client)[:64],
        )

    def locked_for(self, account: str, client: str) -> timedelta | None:
        """How long sign-in stays refused for this account or address (None: allowed)."""
        account_key, client_key = self._keys(account, client)
        now = self._clock()
        since = now - self.window
        waits: list[timedelta] = []
        with self._engine.connect() as conn:
            for column, key, limit in (
                (login_failures.c.account, account_key, self.max_failures),
                (login_failures.c.client, client_key, self.max_failures * CLIENT_FACTOR),
            ):
                times = list(
                    conn.execute(
                        select(login_failures.c.at)
                        .where(column == key, login_failures.c.at > since)
                        .order_by(login_failures.c.at.desc())
                        .limit(limit)
                    ).scalars()
                )
                if len(times) >= limit:
                    waits.append(times[-1] + self.window - now)
        return max(waits) if waits else None

    def failed(self, account: str, client: str) -> None:
        account_key, client_key = self._keys(account, client)
        with self._engine.begin() as conn:
            conn.execute(
                login_failures.insert().values(
                    account=account_key, client=client_key, at=self._clock()
                )
            )
            conn.execute(
                delete(login_failures).where(login_failures.c.at < self._clock() - self.window)
            )

    def succeeded(self, account: str) -> None:
        """A right password clears that account's failures (not the address's)."""
        account_key, _ = self._keys(account, "")
        with self._engine.begin() as conn:
            conn.execute(delete(login_failures).where(login_failures.c.account == account_key))

    def failures(self, account: str) -> int:
        account_key, _ = self._keys(account, "")
        since = self._clock() - self.window
        with self._engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).where(
                        login_failures.c.account == account_key, login_failures.c.at > since
                    )
                ).scalar_one()
            )
