"""Nothing borough writes under its home can be read by another local user: ledger, logs,
run logs, evidence, downloads, temporary files, targets (files 0600, folders 0700; the
audit public key may be public), even when the command is started with a loose umask."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from borough.audit.chain import PUBLIC_KEY_NAME
from borough.audit.retention import purge_older_than
from borough.cli.exitcodes import ExitCode
from borough.testing import home_env, runtime_in
from tests.support.installs import counting_home, people

ROOT = Path(__file__).resolve().parents[2]


def borough(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "borough", *args],
        env={**os.environ, **home_env(home), "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=lambda: os.umask(0o022),  # what a login shell or cron would give
    )


def readable_by_others(paths: list[Path]) -> list[str]:
    return [
        f"{oct(stat.S_IMODE(p.lstat().st_mode))} {p}"
        for p in paths
        if stat.S_IMODE(p.lstat().st_mode) & 0o077 and p.name != PUBLIC_KEY_NAME
    ]


def everything(home: Path) -> list[Path]:
    return sorted(home.rglob("*"))


def test_after_runs_with_failed_items_nothing_is_readable_by_others(tmp_path: Path):
    rows = people(6, bad_every=6)
    rows[3]["Amount"] = 999  # a business rule failure, once the app is open: evidence
    home = counting_home(tmp_path / "home", rows)
    before = set(everything(home))
    first = borough(home, "run", "counting-bot", "-q")
    assert first.returncode == ExitCode.ITEMS_FAILED, first.stdout + first.stderr
    for command in (["audit", "verify"], ["items", "list"]):
        assert borough(home, *command).returncode == ExitCode.OK
    written = [path for path in everything(home) if path not in before]
    evidence = [p for p in written if "evidence" in p.parts and p.is_file()]
    assert evidence, "a failed item leaves evidence"
    assert any(p.name == "ledger.sqlite" for p in written)
    assert any(p.suffix == ".log" for p in written)
    assert readable_by_others(written) == []
    assert readable_by_others([home / "logs", home / "var"]) == []


def test_an_older_installation_is_tightened_when_it_is_next_opened(tmp_path: Path):
    home = counting_home(tmp_path / "home", people(2))
    assert borough(home, "run", "counting-bot", "-q").returncode == ExitCode.OK
    state = [p for p in everything(home) if p.parts[len(home.parts)] in ("logs", "var")]
    for path in state:  # as an older version (or a careless copy) left them
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    os.chmod(home / "logs", 0o755)
    os.chmod(home / "var", 0o755)
    assert borough(home, "runs", "list").returncode == ExitCode.OK
    assert readable_by_others(state) == []


def test_downloads_are_private_sealed_evidence_and_purged_with_it(tmp_path: Path):
    home = counting_home(tmp_path / "home", people(1))
    old = time.time() - 40 * 86400
    with runtime_in(home) as runtime:
        store = runtime.evidence("20261001-090000-aaaaaa")
        csv = b"Case Reference,NI Number\nCW-000001,PH414002A\n"
        report = store.save_download(runtime.trail, "cases_20261001.csv", csv)
        assert b"PH414002A" not in report.path.read_bytes()
        downloads = report.path.parent
        legacy = runtime.paths.data / "downloads" / "20261001-090000-aaaaaa"
        legacy.mkdir(parents=True)
        (legacy / "cases.csv").write_text("old")
        app_logs = runtime.paths.runs / "20261001-090000-aaaaaa"
        app_logs.mkdir(parents=True)
        (app_logs / "revenues-desktop.log").write_text("old")
        recent = runtime.evidence("20261130-090000-bbbbbb").save_download(
            runtime.trail, "cases.csv", b"x"
        )
        assert downloads.parent.parent == runtime.paths.evidence
        assert stat.S_IMODE(downloads.stat().st_mode) == 0o700
        assert stat.S_IMODE(report.path.stat().st_mode) == 0o600
        for folder in (downloads.parent, legacy, app_logs):
            os.utime(folder, (old, old))
        report_ = purge_older_than(runtime, datetime.now(UTC) - timedelta(days=30))
    assert report_.evidence_folders == 1
    assert not downloads.parent.exists() and not legacy.exists() and not app_logs.exists()
    assert recent.path.exists()
