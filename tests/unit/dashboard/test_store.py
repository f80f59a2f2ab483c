"""The dashboard's tables: accounts, sessions, sign-in throttling, approvals, versioning."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, inspect, select, text

from borough.dashboard.store import (
    ApprovalStatus,
    ApprovalStore,
    LoginThrottle,
    Role,
    SessionStore,
    UserStore,
    ensure_schema,
)
from borough.dashboard.store.tables import sessions as sessions_table
from borough.dashboard.store.tables import users as users_table
from borough.errors import DashboardError
from borough.ledger import ItemState, Ledger, NewItem, Sealer, open_ledger
from borough.ledger.schema import SCHEMA_VERSION
from tests.support.dashboard import FAST_HASHER, Clock

PASSWORD = "a long enough password"


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    """The dashboard's tables over both ledger stores, like the ledger's contract tests."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_url")
    store = open_ledger(url, Sealer(secrets.token_bytes(32)))
    ensure_schema(store.engine)
    yield store
    store.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def users(ledger: Ledger, clock: Clock) -> UserStore:
    return UserStore(ledger.engine, clock, FAST_HASHER)


def test_tables_live_in_the_ledger_with_their_own_version(ledger: Ledger):
    names = set(inspect(ledger.engine).get_table_names())
    assert {"borough_dash_users", "borough_dash_sessions", "borough_dash_approvals"} <= names
    with ledger.engine.connect() as conn:
        meta = dict(conn.execute(text("SELECT key, value FROM borough_meta")).all())
    assert meta == {"schema_version": str(SCHEMA_VERSION), "dashboard_schema_version": "1"}
    ensure_schema(ledger.engine)  # a second start changes nothing


def test_a_newer_dashboard_schema_is_refused(ledger: Ledger):
    with ledger.engine.begin() as conn:
        conn.execute(
            text("UPDATE borough_meta SET value = '7' WHERE key = 'dashboard_schema_version'")
        )
    with pytest.raises(DashboardError, match="version 7; this borough reads version 1"):
        ensure_schema(ledger.engine)


def test_passwords_are_argon2_hashes_and_checked(users: UserStore, ledger: Ledger):
    users.add("olivia", PASSWORD, ["operator", "auditor"])
    with ledger.engine.connect() as conn:
        stored = conn.execute(select(users_table.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    user = users.authenticate("olivia", PASSWORD)
    assert user is not None and user.roles == {Role.OPERATOR, Role.AUDITOR}
    assert user.actor == "user:olivia" and user.last_login_at is not None
    assert users.authenticate("olivia", PASSWORD + "x") is None
    assert users.authenticate("nobody", PASSWORD) is None
    users.set_disabled("olivia", True)
    assert users.authenticate("olivia", PASSWORD) is None


def test_weak_hash_parameters_are_upgraded_at_sign_in(ledger: Ledger, clock: Clock):
    UserStore(ledger.engine, clock, FAST_HASHER).add("olivia", PASSWORD, ["operator"])
    strong = UserStore(ledger.engine, clock, PasswordHasher(time_cost=2, memory_cost=16 * 1024))
    assert strong.authenticate("olivia", PASSWORD) is not None
    with ledger.engine.connect() as conn:
        stored = conn.execute(select(users_table.c.password_hash)).scalar_one()
    assert "m=16384,t=2" in stored


@pytest.mark.parametrize(
    ("name", "password", "roles", "message"),
    [
        ("Olivia Smith", PASSWORD, ["operator"], "account name is 2-64 characters"),
        ("olivia", "short", ["operator"], "at least 12 characters"),
        ("olivia", PASSWORD, [], "at least one role"),
        ("olivia", PASSWORD, ["superuser"], "roles are operator, auditor, admin"),
    ],
)
def test_bad_accounts_are_refused_with_a_reason(users, name, password, roles, message):
    with pytest.raises(DashboardError, match=message):
        users.add(name, password, roles)


def test_account_names_are_unique(users: UserStore):
    users.add("olivia", PASSWORD, ["operator"])
    with pytest.raises(DashboardError, match="already an account named 'olivia'"):
        users.add("olivia", PASSWORD, ["auditor"])


def sessions_for(ledger: Ledger, users: UserStore, clock: Clock) -> SessionStore:
    return SessionStore(
        ledger.engine, users, clock, idle=timedelta(minutes=30), max_age=timedelta(hours=12)
    )


def test_sessions_store_only_a_hash_and_expire_when_idle(ledger, users, clock):
    store = sessions_for(ledger, users, clock)
    token, _session = store.create(users.add("olivia", PASSWORD, ["operator"]))
    with ledger.engine.connect() as conn:
        stored = conn.execute(select(sessions_table.c.id)).scalar_one()
    assert stored != token and len(token) >= 40
    clock.advance(minutes=29)
    assert store.lookup(token) is not None  # and this visit keeps it alive
    clock.advance(minutes=29)
    assert store.lookup(token) is not None
    clock.advance(minutes=31)
    assert store.lookup(token) is None
    assert store.lookup(token) is None  # removed, not just refused


def test_sessions_end_after_their_maximum_age_even_when_busy(ledger, users, clock):
    store = sessions_for(ledger, users, clock)
    token, _ = store.create(users.add("olivia", PASSWORD, ["operator"]))
    for _ in range(26):
        clock.advance(minutes=28)
        alive = store.lookup(token)
    assert alive is None  # 12 h 8 min after sign-in


def test_disabling_an_account_ends_its_sessions(ledger, users, clock):
    store = sessions_for(ledger, users, clock)
    user = users.add("olivia", PASSWORD, ["operator"])
    token, _ = store.create(user)
    other, _ = store.create(user)
    users.set_disabled("olivia", True)
    assert store.lookup(token) is None
    users.set_disabled("olivia", False)
    assert store.end_all(user) == 1  # `token`'s row was already dropped at lookup
    assert store.lookup(other) is None


def test_flash_messages_are_shown_once(ledger, users, clock):
    store = sessions_for(ledger, users, clock)
    _, session = store.create(users.add("olivia", PASSWORD, ["operator"]))
    store.set_flash(session, "success:done")
    assert store.pop_flash(session) == "success:done"
    assert store.pop_flash(session) is None


def throttle_for(ledger: Ledger, clock: Clock) -> LoginThrottle:
    return LoginThrottle(
        ledger.engine,
        clock,
        lambda text: f"fp-{abs(hash(text))}",
        max_failures=3,
        window=timedelta(minutes=15),
    )


def test_an_account_is_locked_after_repeated_failures_then_unlocks(ledger, clock):
    throttle = throttle_for(ledger, clock)
    for _ in range(3):
        assert throttle.locked_for("olivia", "10.0.0.1") is None
        throttle.failed("olivia", "10.0.0.1")
    wait = throttle.locked_for("olivia", "10.0.0.2")  # another address: still locked
    assert wait is not None and timedelta(minutes=14) < wait <= timedelta(minutes=15)
    assert throttle.locked_for("oscar", "10.0.0.2") is None
    clock.advance(minutes=16)
    assert throttle.locked_for("olivia", "10.0.0.1") is None


def test_one_address_failing_across_many_accounts_is_locked(ledger, clock):
    throttle = throttle_for(ledger, clock)
    for i in range(12):
        throttle.failed(f"guess{i}", "10.0.0.9")
    assert throttle.locked_for("fresh-name", "10.0.0.9") is not None
    assert throttle.locked_for("fresh-name", "10.0.0.8") is None


def test_a_successful_sign_in_clears_the_account_failures(ledger, clock):
    throttle = throttle_for(ledger, clock)
    throttle.failed("olivia", "10.0.0.1")
    throttle.failed("olivia", "10.0.0.1")
    throttle.succeeded("olivia")
    assert throttle.failures("olivia") == 0


def review_item(ledger: Ledger):
    new = NewItem(key_token="p_k", key="K1", data={}, source=None)
    ledger.items.ingest("bot", "run-1", [new])
    claim = ledger.items.claim_next("bot", "run-1")
    assert claim is not None
    ledger.items.finish(ledger.items.mark_in_flight(claim), ItemState.NEEDS_REVIEW)
    return ledger.items.get(claim.item_id)


def test_approvals_need_a_second_person_and_one_decision(ledger: Engine, clock):
    store = ApprovalStore(ledger.engine, clock)
    item = review_item(ledger)
    request = store.request(item, ItemState.DONE, reason="found it", reference="R1", by="olivia")
    with pytest.raises(DashboardError, match="already has a change waiting"):
        store.request(item, ItemState.SKIPPED, reason="x", reference=None, by="oscar")
    with pytest.raises(DashboardError, match="a different operator must approve"):
        store.decide(request.id, ApprovalStatus.APPROVED, by="olivia")
    with pytest.raises(DashboardError, match="only the operator who asked"):
        store.decide(request.id, ApprovalStatus.CANCELLED, by="oscar")
    decided = store.decide(request.id, ApprovalStatus.APPROVED, by="oscar")
    assert (decided.status, decided.decided_by) == (ApprovalStatus.APPROVED, "oscar")
    with pytest.raises(DashboardError, match="already approved"):
        store.decide(request.id, ApprovalStatus.REJECTED, by="audrey")
    assert store.pending() == []
