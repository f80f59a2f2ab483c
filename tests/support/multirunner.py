"""A scale-out installation on one test machine: PostgreSQL, schedulers and runner machines.

Each "machine" is its own process tree with its own home folder (logs, audit trail,
evidence, downloads), its own host name as borough records it (``BOROUGH_HOST``) and its
own queues; machines share nothing but PostgreSQL (and the legacy application they drive,
here a :class:`~borough.testing.CountingTarget` file every machine reaches, as they would
reach the real one over the network). Homes are copies of one base home, keys included, as
``borough keys backup`` / ``restore`` would make them.

Used by tests/scaleout and benchmarks/scale_out.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from borough.ledger import ItemState, RunStatus
from borough.testing import (
    COUNTING_KIND,
    counted_writes,
    make_home,
    most_sessions_at_once,
    runtime_in,
)
from tests.support.installs import people, people_csv
from tests.support.scheduling import child_env

BOT = "counting-bot"
SCHEDULE = "bulk"
#: short leases so a killed machine's items are adopted in seconds (production: 300 + 60)
FAST_LEDGER = {"lease_seconds": 6, "heartbeat_seconds": 1, "adopt_grace_seconds": 3}
FAST_SCHEDULER = {
    "dispatch": "procrastinate",
    "kill_grace_seconds": 1,
    "stalled_job_seconds": 4,
    "worker_heartbeat_seconds": 1,
    "fork_server": False,
}


@dataclass
class Machine:
    """One machine's home and its running service (a scheduler or a worker)."""

    host: str
    home: Path
    argv: list[str]
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def log(self) -> Path:
        return self.home / "logs" / f"service-{self.starts}.out"

    def start(self) -> None:
        self.starts += 1
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.home,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def busy(self) -> bool:
        """Alive and running at least one run (a process below the service)."""
        return self.alive and self.proc is not None and bool(descendants(self.proc.pid))

    def kill(self) -> int:
        """SIGKILL the whole machine: the service and every process it started (its runs
        are in sessions of their own). Returns how many processes were killed."""
        if self.proc is None:
            return 0
        tree = [self.proc.pid, *descendants(self.proc.pid)]
        for pid in tree:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        for pid in tree[1:]:
            wait_gone(pid)
        return len(tree)

    def stop(self, timeout: float = 60) -> None:
        """SIGTERM (a clean stop: runs finish), SIGKILL after ``timeout``."""
        if not self.alive:
            return
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


@dataclass
class Cluster:
    """PostgreSQL at ``db_url``; schedulers and runners made with :meth:`scheduler` and
    :meth:`runner`; ``target`` is the legacy application every runner writes to."""

    root: Path
    db_url: str
    base: Path
    target: Path
    machines: dict[str, Machine] = field(default_factory=dict)

    # -- machines ---------------------------------------------------------------------------
    def home_for(self, host: str, *, db_url: str | None = None) -> Path:
        """A machine's own home: the base's config, keys and input; its own logs."""
        home = self.root / host
        if not home.exists():
            shutil.copytree(self.base / "config", home / "config")
            shutil.copytree(self.base / "input", home / "input")
            (home / "var").mkdir(parents=True)
            shutil.copy2(self.base / "var" / "secrets.cfg", home / "var" / "secrets.cfg")
        if db_url is not None:  # this machine reaches PostgreSQL another way (a proxy)
            borough_yaml = home / "config" / "borough.yaml"
            settings = yaml.safe_load(borough_yaml.read_text())
            settings["ledger"]["url"] = db_url
            borough_yaml.write_text(yaml.safe_dump(settings))
            schedules_yaml = home / "config" / "schedules.yaml"
            schedules = yaml.safe_load(schedules_yaml.read_text())
            schedules["scheduler"]["store"] = db_url
            schedules_yaml.write_text(yaml.safe_dump(schedules, sort_keys=False))
        return home

    def env_for(self, host: str, home: Path) -> dict[str, str]:
        return {**os.environ, **child_env(home), "BOROUGH_HOST": host}

    def scheduler(self, host: str, *, standby: bool = False, db_url: str | None = None) -> Machine:
        home = self.home_for(host, db_url=db_url)
        argv = [sys.executable, "-m", "borough", "serve", "scheduler"]
        if standby:
            argv.append("--standby")
        return self._add(Machine(host, home, argv, self.env_for(host, home)))

    def runner(
        self,
        host: str,
        queues: Sequence[str] = ("app:counting",),
        *,
        concurrency: int = 1,
        db_url: str | None = None,
    ) -> Machine:
        home = self.home_for(host, db_url=db_url)
        argv = [
            sys.executable,
            "-m",
            "borough",
            "serve",
            "worker",
            "--concurrency",
            str(concurrency),
        ]
        argv += [arg for queue in [*queues, f"host:{host}"] for arg in ("-q", queue)]
        return self._add(Machine(host, home, argv, self.env_for(host, home)))

    def _add(self, machine: Machine) -> Machine:
        self.machines[machine.host] = machine
        machine.start()
        return machine

    def cli(self, *args: str, host: str = "operator") -> subprocess.CompletedProcess[str]:
        """``borough ARGS`` on an operator's machine (its own home too)."""
        home = self.home_for(host)
        return subprocess.run(
            [sys.executable, "-m", "borough", *args],
            env=self.env_for(host, home),
            cwd=home,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def close(self) -> None:
        for machine in self.machines.values():
            if machine.alive:
                machine.kill()

    # -- what happened ------------------------------------------------------------------------
    def writes(self) -> dict[str, int]:
        return counted_writes(self.target) if self.target.exists() else {}

    def most_sessions(self) -> int:
        return most_sessions_at_once(self.target) if self.target.exists() else 0


def make_cluster(
    root: Path,
    db_url: str,
    *,
    items: int,
    seconds_per_item: float = 0.0,
    max_sessions: int | None = None,
    schedule: Mapping[str, Any] | None = None,
    ledger: Mapping[str, Any] | None = None,
    scheduler: Mapping[str, Any] | None = None,
) -> Cluster:
    """A base home for a scale-out installation on ``db_url`` (ledger, schedule store and
    run queue), one bot (``counting-bot``) reading ``items`` rows, one schedule ``bulk``."""
    target = root / "target.sqlite"
    app: dict[str, Any] = {"kind": COUNTING_KIND, "path": str(target)}
    if max_sessions is not None:
        app["max_sessions"] = max_sessions
    bot_config = {
        "bot": BOT,
        "entry": "tests.support.bots:CountingBot",
        "inputs": {"csv": "input/people.csv"},
        "apps": ["counting"],
        "settings": {"pause_seconds": seconds_per_item} if seconds_per_item else {},
    }
    schedules = {
        "scheduler": {**FAST_SCHEDULER, "store": db_url, **(scheduler or {})},
        "schedules": {
            SCHEDULE: {
                "bot": BOT,
                "interval": {"hours": 24},
                "misfire_grace_seconds": 60,
                **(schedule or {}),
            }
        },
    }
    settings = {
        "ledger": {"url": db_url, **FAST_LEDGER, **(ledger or {})},
        "audit": {"checkpoint_every": 200},
    }
    base = make_home(
        root / "base",
        files={
            "config/borough.yaml": yaml.safe_dump(settings),
            "config/apps.yaml": yaml.safe_dump({"apps": {"counting": app}}),
            f"config/bots/{BOT}.yaml": yaml.safe_dump(bot_config),
            "config/schedules.yaml": yaml.safe_dump(schedules, sort_keys=False),
            "input/people.csv": people_csv(rows_of(items)),
        },
    )
    with runtime_in(base):  # borough's keys are made now, bound to the ledger, then copied
        pass
    return Cluster(root=root, db_url=db_url, base=base, target=target)


def rows_of(count: int) -> list[dict[str, Any]]:
    """``count`` valid people rows (CountingBot refuses an amount of 999 by design)."""
    rows = people(count)
    for row in rows:
        if row["Amount"] == 999:
            row["Amount"] = 998
    return rows


@contextmanager
def cluster(root: Path, db_url: str, **options: Any) -> Iterator[Cluster]:
    """:func:`make_cluster`, every machine killed at the end (nothing left behind).

    A failed wait or assertion inside carries the end of every machine's log, so a failure
    in CI (whose temporary folders are gone) can be read from its output alone."""
    made = make_cluster(root, db_url, **options)
    try:
        yield made
    except AssertionError as exc:
        logs = "\n".join(f"--- {host}:\n{m.output()}" for host, m in made.machines.items())
        exc.args = (f"{exc.args[0] if exc.args else ''}\n{logs}", *exc.args[1:])
        raise
    finally:
        made.close()


# -- processes ----------------------------------------------------------------------------------
def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children in sessions of their own included)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def wait_gone(pid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return
        if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            return
        time.sleep(0.02)


# -- the ledger, read by the test ----------------------------------------------------------------
def ledger_state(db_url: str) -> dict[str, int]:
    """``{state: count}`` of the bot's items, read straight from PostgreSQL."""
    import psycopg

    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT state, count(*) FROM borough_items WHERE bot = %s GROUP BY state", (BOT,)
        ).fetchall()
    return {str(state): int(count) for state, count in rows}


def runs_of(db_url: str) -> list[dict[str, Any]]:
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(db_url, row_factory=dict_row) as conn:
        return list(conn.execute("SELECT * FROM borough_runs ORDER BY created_at").fetchall())


def all_done(db_url: str, items: int) -> bool:
    return ledger_state(db_url).get(ItemState.DONE.value, 0) == items


def settled(db_url: str) -> bool:
    """No run queued or running, no item claimed or in flight."""
    live = {RunStatus.QUEUED.value, RunStatus.RUNNING.value}
    held = {ItemState.CLAIMED.value, ItemState.IN_FLIGHT.value}
    return not any(run["status"] in live for run in runs_of(db_url)) and not any(
        ledger_state(db_url).get(state) for state in held
    )


# -- a TCP proxy that can cut a machine off PostgreSQL ------------------------------------------
def _drop(sockets: Iterator[socket.socket] | Sequence[socket.socket]) -> None:
    """Shut each socket down, then close it.

    Shutting down first matters: closing a descriptor that another thread is blocked
    reading (the pipe in the other direction) does not end the connection on Linux, so
    the far end would hear nothing and a PostgreSQL session (with its advisory lock)
    would stay open for as long as that read waits, which is for ever.
    """
    dropped = list(sockets)
    for sock in dropped:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    for sock in dropped:
        sock.close()


class CuttableProxy:
    """Forwards ``127.0.0.1:port`` to PostgreSQL; :meth:`cut` is a network partition (every
    connection dropped, new ones refused), :meth:`restore` lets them through again.

    ``cut(server_hears=False)`` is a silent partition: each client's connection fails at
    once (as its TCP timeouts make it fail on a real cut), but PostgreSQL hears nothing:
    its sessions stay open and silent (this proxy's kernel even answers their keepalives,
    as a middlebox would) until the server ends them itself, or :meth:`restore`.
    """

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._open: set[socket.socket] = set()
        self._servers: set[socket.socket] = set()  # the PostgreSQL side of each connection
        self._silenced: set[socket.socket] = set()  # server sides a silent cut keeps open
        self._lock = threading.Lock()
        self._cut = threading.Event()
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, db_url: str) -> str:
        """``db_url`` with its host and port pointing at this proxy."""
        scheme, rest = db_url.split("://", 1)
        credentials, location = rest.rsplit("@", 1)
        database = location.split("/", 1)[1]
        return f"{scheme}://{credentials}@127.0.0.1:{self.port}/{database}"

    def cut(self, *, server_hears: bool = True) -> None:
        self._cut.set()
        with self._lock:
            dropped = list(self._open)
            self._open.clear()
            if not server_hears:
                self._silenced.update(s for s in dropped if s in self._servers)
            dropped = [s for s in dropped if s not in self._silenced]
            self._servers.difference_update(dropped)
        _drop(dropped)

    def restore(self) -> None:
        """The network is back: connections go through again, and the sessions a silent cut
        kept open hear that their clients are gone (as the clients' hosts answer them)."""
        with self._lock:
            silenced = list(self._silenced)
            self._silenced.clear()
            self._servers.difference_update(silenced)
        _drop(silenced)
        self._cut.clear()

    def close(self) -> None:
        self._closed.set()
        self.cut()
        self.restore()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._cut.is_set():
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:  # a cut that came meanwhile refuses this one too
                refused = self._cut.is_set()
                if not refused:
                    self._open.update((client, server))
                    self._servers.add(server)
            if refused:
                _drop((client, server))
                continue
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            with self._lock:
                ends = [s for s in (source, sink) if s not in self._silenced]
                self._open.difference_update(ends)
                self._servers.difference_update(ends)
            _drop(ends)
