"""One run in its own process: ``python -m borough run BOT --run-id ...``.

Nothing secret goes into argv or the environment (any local user can read both in
``/proc``): the child reads, from an inherited pipe named by ``BOROUGH_SECRETS_FD``, the
keys and secrets its bot needs (:mod:`borough.secrets.handed`: no key derivation in the
child), or the passphrase when those cannot be handed
(:class:`borough.secrets.passphrase.Handover`). The child gets its
own session, so a timeout kills the bot's whole process group (browsers included).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from loguru import logger

from borough import filemodes
from borough.audit.trail import AuditTrail
from borough.errors import AuditError
from borough.forkserver import ForkServer, ForkServerError
from borough.ledger import RunBook, RunRecord, RunStatus
from borough.ledger.runs import process_alive, process_start_marker
from borough.reaper import recorded_end, settle_gone_run
from borough.secrets.passphrase import Handover
from scheduler.dispatch.base import QueuedRun

STDERR_TAIL = 600
FORK_REPORT_WAIT = 2.0  #: seconds a forked run's exit code may take to arrive once it is gone
Redact = Callable[[str], str]


def child_argv(run: QueuedRun) -> list[str]:
    argv = [sys.executable, "-m", "borough", "run", run.bot, "--quiet", "--run-id", run.run_id]
    argv += ["--trigger", run.trigger]
    if run.schedule:
        argv += ["--schedule", run.schedule]
    if run.fire_time:
        argv += ["--fire-time", run.fire_time.isoformat()]
    for name, path in sorted(run.inputs.items()):
        argv += ["--input", f"{name}={path}"]
    return argv


@dataclass
class Child:
    """A run's process, started by us (``proc``) or adopted after a restart (pid only)."""

    run: QueuedRun
    pid: int
    deadline: float  # time.monotonic() at which the run is over its maximum run time
    proc: subprocess.Popen[bytes] | None = None
    marker: str | None = None
    stderr_file: Path | None = None
    term_sent_at: float | None = None
    killed: bool = False
    timed_out: bool = False
    stopped: bool = False
    exit_code: int | None = field(default=None)

    forked: ForkServer | None = None  # the fork server that started it (it reports the end)

    @classmethod
    def spawn(
        cls,
        run: QueuedRun,
        env: Mapping[str, str],
        stderr_dir: Path,
        *,
        handover: Handover,
        cwd: Path | None = None,
        forkserver: ForkServer | None = None,
    ) -> Child:
        """Start the run's process; ``handover`` gives it, through a pipe, the keys and
        secrets its bot needs (or the passphrase, when those cannot be handed)."""
        filemodes.make_folder(stderr_dir)
        stderr_file = stderr_dir / f"{run.run_id}.stderr"
        with (
            filemodes.open_private(stderr_file, "wb") as err,
            handover.pipe(run.bot) as secrets_fd,
        ):
            if forkserver is not None and forkserver.ready:
                try:
                    pid = forkserver.spawn(
                        child_argv(run),
                        handover.child_env(env, secrets_fd),
                        cwd=cwd,
                        stderr_fd=err.fileno(),
                        secrets_fd=secrets_fd,
                    )
                except ForkServerError as exc:
                    logger.bind(action="run.fork").warning(
                        "starting run {} the ordinary way: {}", run.run_id, exc
                    )
                else:
                    return cls(
                        run=run,
                        pid=pid,
                        deadline=time.monotonic() + run.max_run_seconds,
                        marker=process_start_marker(pid),
                        stderr_file=stderr_file,
                        forked=forkserver,
                    )
            proc = subprocess.Popen(
                child_argv(run),
                env=handover.child_env(env, secrets_fd),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
                pass_fds=(secrets_fd,),
            )
        return cls(
            run=run,
            pid=proc.pid,
            deadline=time.monotonic() + run.max_run_seconds,
            proc=proc,
            marker=process_start_marker(proc.pid),
            stderr_file=stderr_file,
        )

    @classmethod
    def adopt(cls, run: QueuedRun, pid: int, marker: str | None, elapsed: float) -> Child:
        return cls(
            run=run,
            pid=pid,
            marker=marker,
            deadline=time.monotonic() + run.max_run_seconds - elapsed,
        )

    def exited(self) -> bool:
        if self.proc is not None:
            code = self.proc.poll()
            if code is None:
                return False
            self.exit_code = code
            return True
        if self.forked is not None:
            self.exit_code = self.forked.exited(self.pid)
            if self.exit_code is not None:
                return True
            if process_alive(self.pid, self.marker):
                return False
            # gone, or a zombie until its server reaps it: the server reports its exit code
            self.exit_code = self.forked.exited(self.pid, wait=FORK_REPORT_WAIT)
            return True
        return not process_alive(self.pid, self.marker)

    def signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.pid, signum)
        except ProcessLookupError:
            pass
        except PermissionError as exc:
            logger.bind(action="run.kill").warning("cannot signal run {}: {}", self.run.run_id, exc)

    def stop(self, now: float, grace: float) -> bool:
        """SIGTERM the group, then SIGKILL after ``grace`` seconds; True once SIGKILL is sent."""
        if self.term_sent_at is None:
            self.term_sent_at = now
            self.signal_group(signal.SIGTERM)
            return False
        if not self.killed and now - self.term_sent_at >= grace:
            self.killed = True
            self.signal_group(signal.SIGKILL)
        return self.killed

    def stderr_tail(self) -> str:
        if self.stderr_file is None or not self.stderr_file.exists():
            return ""
        data = self.stderr_file.read_bytes()[-STDERR_TAIL:]
        return data.decode("utf-8", errors="replace").strip()

    def cleanup(self) -> None:
        if self.stderr_file is not None:
            self.stderr_file.unlink(missing_ok=True)


def enforce_deadline(child: Child, now: float, grace: float, trail: AuditTrail) -> None:
    """Past its maximum run time: SIGTERM the run's group, SIGKILL it ``grace`` s later."""
    if now < child.deadline or child.stopped:
        return
    if not child.timed_out:
        child.timed_out = True
        trail.bind(run_id=child.run.run_id, bot=child.run.bot).emit(
            "run.kill",
            outcome="timed_out",
            detail={"max_run_seconds": child.run.max_run_seconds, "grace_seconds": grace},
        )
    child.stop(now, grace)


def settle(runs: RunBook, trail: AuditTrail, child: Child, redact: Redact) -> RunRecord:
    """Record how the run ended once its process is gone (the child records normal ends).

    Killed at its maximum run time → TIMED_OUT; stopped with the scheduler → CANCELLED;
    gone while RUNNING → CRASHED, unless its ``run.end`` is already in the trail (it died
    between writing it and committing it: it ends as it recorded); never started → FAILED
    with the end of its stderr. Each is recorded in the trail before the ledger; if the
    trail cannot be written, the run still ends (``borough ledger reconcile`` records it
    later) rather than being started again and again.
    """
    run_id = child.run.run_id
    record = runs.get(run_id)
    gone = f"the run's process ended without finishing (exit code {child.exit_code})"
    status: RunStatus | None = None
    error = gone
    if child.timed_out and not record.status.finished:
        status = RunStatus.TIMED_OUT
        error = f"killed at its maximum run time ({child.run.max_run_seconds / 60:g} min)"
    elif child.stopped and not record.status.finished:
        status = RunStatus.CANCELLED
        error = f"stopped with the scheduler (exit code {child.exit_code})"
    elif record.status is RunStatus.RUNNING:
        status = RunStatus.CRASHED
    elif record.status is RunStatus.QUEUED:
        tail = child.stderr_tail().splitlines()
        status = RunStatus.FAILED
        error = (
            f"the run's process stopped before starting the run (exit code {child.exit_code}): "
            + redact(tail[-1] if tail else "no output")
        )
    try:
        if record.status is RunStatus.RUNNING and (
            status is RunStatus.CRASHED or recorded_end(trail, record) is not None
        ):
            settle_gone_run(runs, trail, run_id, gone, by="scheduler")
        elif status is not None:
            final, bound = status, trail.bind(run_id=run_id, bot=child.run.bot)
            runs.finish(
                run_id,
                final,
                error=error,
                expect=(RunStatus.RUNNING, RunStatus.QUEUED),
                audit=lambda: bound.emit(f"run.{final.value}", outcome=final.value, error=error),
            )
    except AuditError as exc:
        logger.bind(action="run.unaudited", run_id=run_id).error(
            "run {} ended {} but the audit trail cannot be written: {}", run_id, status, exc
        )
        runs.finish(
            run_id,
            status or RunStatus.CRASHED,
            error=f"{error}; not in the audit trail: {exc}",
            expect=(RunStatus.RUNNING, RunStatus.QUEUED),
        )
    child.cleanup()
    return runs.get(run_id)
