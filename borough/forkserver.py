"""A warm interpreter that starts ``borough`` commands by fork, for the scheduler's runs.

A run's process used to spend most of its start in Python importing borough's libraries
(SQLAlchemy, pydantic, pandas, loguru, Typer, cryptography): about a second of CPU on a
2-core machine, paid again by every run. The fork server imports them once and starts
each run as a fork of itself: a fresh process in its own session, with its own stdin,
stdout and stderr, environment, working folder and the pipe its keys come through
(:mod:`borough.secrets.handed`), running ``borough run …`` exactly as the command line
would. Bot modules are *not* imported here, so each run loads its bot's current code.

The server holds no secret: it is started without the passphrase, never opens the secret
store, and forks before anything is handed to the run (the pipe is passed to the child
only). It answers on a ``SOCK_SEQPACKET`` socket: a request is JSON plus the child's
stderr and pipe descriptors (``SCM_RIGHTS``); the answer is the child's pid, and when the
child ends the server reaps it and sends its exit code. When the requester goes away the
server exits; its children carry on, each in its own session.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import random
import select
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

#: what every run imports: imported once here, shared by every fork
PRELOAD = (
    "borough.cli",
    "borough.cli.run_cmd",
    "borough.cli._render",
    "borough.runner",
    "borough.runtime",
    "borough.logconfig",
    "borough.secrets.handed",
    "pandas",
)
CHILD_SECRETS_FD = 3  #: where a run finds the pipe (its ``BOROUGH_SECRETS_FD``)
MAX_MESSAGE = 1 << 20
POLL_SECONDS = 0.2


class ForkServerError(Exception):
    """The fork server cannot start a command (the caller starts it the ordinary way)."""


class ForkServer:
    """The requester's side: start the server, have it start commands, learn their ends."""

    def __init__(self, env: Mapping[str, str], cwd: Path | None = None) -> None:
        self._env = dict(env)
        self._cwd = cwd
        self._sock: socket.socket | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._ready = False
        self.exit_codes: dict[int, int] = {}  #: pid → exit code, for children that ended

    def start(self) -> None:
        """Start the server process (it preloads in the background; see :attr:`ready`)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "borough.forkserver", str(theirs.fileno())],
                env=self._env,
                cwd=self._cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
            )
        self._sock = ours

    @property
    def started(self) -> bool:
        return self._sock is not None or self._proc is not None

    @property
    def ready(self) -> bool:
        """Whether the server has finished importing and takes requests (never blocks)."""
        if not self._ready and self._sock is not None:
            self._drain(timeout=0)
        return self._ready

    def spawn(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        *,
        cwd: Path | None,
        stderr_fd: int,
        secrets_fd: int,
    ) -> int:
        """Start ``argv`` (a ``python -m borough …`` command line) as a fork; its pid."""
        if self._sock is None or not self.ready:
            raise ForkServerError("the fork server is not running")
        request = {"argv": list(argv[3:]), "env": dict(env), "cwd": str(cwd or Path.cwd())}
        if list(argv[:3]) != [sys.executable, "-m", "borough"]:
            raise ForkServerError("the fork server starts borough commands only")
        try:
            socket.send_fds(self._sock, [json.dumps(request).encode()], [stderr_fd, secrets_fd])
            deadline = time.monotonic() + 30
            while True:
                answer = self._receive(timeout=max(deadline - time.monotonic(), 0))
                if answer is None:
                    raise ForkServerError("the fork server did not answer within 30 s")
                if "pid" in answer or "error" in answer:
                    break
        except OSError as exc:
            self.close()
            raise ForkServerError(f"the fork server is gone ({exc})") from None
        if "error" in answer:
            raise ForkServerError(str(answer["error"]))
        return int(answer["pid"])

    def exited(self, pid: int, wait: float = 0.0) -> int | None:
        """The exit code of a child that ended (``None``: still running, or not known);
        ``wait``: for a child known to be gone, how long to wait for the server's report."""
        deadline = time.monotonic() + wait
        while pid not in self.exit_codes and self._sock is not None:
            self._drain(timeout=min(max(deadline - time.monotonic(), 0), POLL_SECONDS))
            if time.monotonic() >= deadline:
                break
        return self.exit_codes.get(pid)

    def close(self) -> None:
        """Stop the server (its children go on; their ends are then learnt from their pids)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)
            self._proc = None
        self._ready = False

    def _drain(self, timeout: float) -> None:
        try:
            while self._receive(timeout) is not None:
                timeout = 0
        except OSError:
            self.close()

    def _receive(self, timeout: float) -> dict[str, Any] | None:
        assert self._sock is not None
        readable, _, _ = select.select([self._sock], [], [], timeout)
        if not readable:
            return None
        data = self._sock.recv(MAX_MESSAGE)
        if not data:
            self.close()
            raise OSError("the fork server closed its socket")
        message: dict[str, Any] = json.loads(data)
        if "exited" in message:
            self.exit_codes[int(message["exited"])] = int(message["code"])
        elif message.get("ready"):
            self._ready = True
        return message


def serve(sock: socket.socket) -> None:
    """The server: preload, say ready, then fork on request and report ends, until EOF."""
    for name in PRELOAD:
        importlib.import_module(name)
    sock.send(json.dumps({"ready": True}).encode())
    children: set[int] = set()
    while True:
        _reap(sock, children)
        readable, _, _ = select.select([sock], [], [], POLL_SECONDS)
        if not readable:
            continue
        try:
            data, fds, _flags, _addr = socket.recv_fds(sock, MAX_MESSAGE, 2)
        except OSError:
            return
        if not data:
            return
        try:
            request = json.loads(data)
            pid = _fork(sock, request, fds)
        except Exception as exc:
            sock.send(json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode())
        else:
            children.add(pid)
            sock.send(json.dumps({"pid": pid}).encode())
        finally:
            for fd in fds:
                os.close(fd)


def _reap(sock: socket.socket, children: set[int]) -> None:
    for pid in list(children):
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            children.discard(pid)
            continue
        if done:
            children.discard(pid)
            code = os.waitstatus_to_exitcode(status)
            with contextlib.suppress(OSError):
                sock.send(json.dumps({"exited": pid, "code": code}).encode())


def _fork(sock: socket.socket, request: dict[str, Any], fds: list[int]) -> int:
    stderr_fd, secrets_fd = fds
    sys.stdout.flush()
    sys.stderr.flush()
    started_r, started_w = os.pipe()  # the answer waits until the child leads its session
    pid = os.fork()
    if pid:
        os.close(started_w)
        os.read(started_r, 1)
        os.close(started_r)
        return pid
    code = 3
    try:
        os.setsid()
        os.close(started_r)
        os.write(started_w, b".")
        os.close(started_w)
        random.seed()  # a fork copies the server's random state: each run gets its own
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(signum, signal.SIG_DFL)
        sock.close()
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)
        os.dup2(stderr_fd, 2)
        os.dup2(secrets_fd, CHILD_SECRETS_FD)
        os.closerange(CHILD_SECRETS_FD + 1, os.sysconf("SC_OPEN_MAX"))
        os.chdir(request["cwd"])
        env = dict(request["env"])
        env["BOROUGH_SECRETS_FD"] = str(CHILD_SECRETS_FD)
        os.environ.clear()
        os.environ.update(env)
        sys.argv = ["borough", *request["argv"]]
        from borough.cli import main

        try:
            main()
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 3)
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":  # pragma: no cover - the server process
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl+C is for the scheduler
    serve(socket.socket(fileno=int(sys.argv[1])))
