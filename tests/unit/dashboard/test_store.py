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
from borough.ledger import ItemState, Ledger, NewItem, Sealer, open_ledger, schema
from tests.support.dashboard import FAST_HASHER, Clock
from tests.support.postgres import LEDGER_STORES

PASSWORD = "a long enough password"


@pytest.fixture(params=LEDGER_STORES)
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
    ledger_version = str(schema.SCHEMA_VERSION)
    assert meta == {"schema_version": ledger_version, "dashboard_schema_version": "2"}
    ensure_schema(ledger.engine)  # a second start changes nothing


def test_a_newer_dashboard_schema_is_refused(ledger: Ledger):
    with ledger.engine.begin() as conn:
        conn.execute(
            text("UPDATE borough_meta SET value = '7' WHERE key = 'dashboard_schema_version'")
        )
    with pytest.raises(DashboardError, match="version 7; this borough reads version 2"):
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
    clock.freeze()  # waits are asserted to the second
    return LoginThrottle(
        ledger.engine,
        clock,
        lambda text: f"fp-{abs(hash(text))}",
        max_failures=3,
        window=timedelta(minutes=15),
        max_delay=timedelta(seconds=30),
    )


def test_an_account_is_slowed_after_repeated_failures_never_for_long(ledger, clock):
    throttle = throttle_for(ledger, clock)
    for _ in range(3):
        assert throttle.check("olivia", "10.0.0.1") is None
        throttle.failed("olivia", "10.0.0.1")
    waits = []
    for _ in range(8):  # 1, 2, 4, 8, 16 then the 30 s cap
        hold = throttle.check("olivia", "10.0.0.2")  # another address: slowed all the same
        assert hold is not None and hold.rule == "account"
        waits.append(hold.seconds)
        clock.advance(seconds=hold.seconds)
        assert throttle.check("olivia", "10.0.0.2") is None
        throttle.failed("olivia", "10.0.0.2")
    assert waits == [1, 2, 4, 8, 16, 30, 30, 30]
    assert throttle.check("oscar", "10.0.0.2") is None
    throttle.succeeded("olivia")
    assert throttle.check("olivia", "10.0.0.1") is None and throttle.failures("olivia") == 0


def test_a_failing_address_paces_each_name_without_keeping_anyone_out(ledger, clock):
    throttle = throttle_for(ledger, clock)
    for i in range(12):  # 3 x 4: the address is paced from here on
        throttle.failed(f"guess{i}", "10.0.0.9")
    first = throttle.check("fresh-name", "10.0.0.9")
    assert first is not None and (first.rule, first.seconds) == ("address", 30)
    clock.advance(seconds=10)
    for i in range(50):  # the flood goes on meanwhile, with other names
        throttle.check(f"more{i}", "10.0.0.9")
    again = throttle.check("fresh-name", "10.0.0.9")  # asking early does not move the time
    assert again is not None and again.seconds == 20
    clock.advance(seconds=20)
    assert throttle.check("fresh-name", "10.0.0.9") is None
    assert throttle.check("fresh-name", "10.0.0.8") is None  # other addresses are not paced
    clock.advance(minutes=16)  # failures are forgotten after the window
    assert throttle.check("another", "10.0.0.9") is None


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


def test_a_version_1_dashboard_is_upgraded_in_place(ledger: Ledger, clock):
    """Version 2 added the throttle's kind and device, and approval batches: columns with
    a default or none, so tables written by version 1 keep their rows and gain them."""
    with ledger.engine.begin() as conn:
        for table, column in (
            ("borough_dash_login_failures", "device"),
            ("borough_dash_login_failures", "kind"),
            ("borough_dash_approvals", "batch_id"),
        ):
            conn.execute(text(f"DROP INDEX IF EXISTS ix_dash_failures_{column}"))
            conn.execute(text("DROP INDEX IF EXISTS ix_dash_approvals_batch"))
            conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        conn.execute(
            text("UPDATE borough_meta SET value = '1' WHERE key = 'dashboard_schema_version'")
        )
        conn.execute(
            text(
                "INSERT INTO borough_dash_login_failures (account, client, at) "
                "VALUES ('a', 'c', :at)"
            ),
            {"at": clock()},
        )
    ensure_schema(ledger.engine)
    throttle = throttle_for(ledger, clock)
    with ledger.engine.connect() as conn:
        kinds = conn.execute(text("SELECT kind FROM borough_dash_login_failures")).scalars()
        assert list(kinds) == ["failed"]
        version = conn.execute(
            text("SELECT value FROM borough_meta WHERE key = 'dashboard_schema_version'")
        ).scalar_one()
    assert version == "2"
    throttle.failed("olivia", "10.0.0.1", device="a-device")
    assert throttle.failures("olivia") == 1
    request = ApprovalStore(ledger.engine, clock).request(
        review_item(ledger), ItemState.DONE, reason="r", reference="R1", by="olivia"
    )
    assert request.batch_id == request.id
