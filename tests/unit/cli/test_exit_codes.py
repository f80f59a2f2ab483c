"""Every outcome leaves by its documented exit code (docs/operations.md), in process and
from a real ``python -m borough`` (what a scheduler, systemd or a script sees)."""

from __future__ import annotations

import errno
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from borough.cli import app
from borough.cli.exitcodes import ExitCode
from borough.testing import home_env
from tests.support.installs import counting_home, people

ROOT = Path(__file__).resolve().parents[3]
runner = CliRunner()


@pytest.fixture
def counting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = counting_home(tmp_path, people(5, bad_every=5))
    for key, value in home_env(home).items():
        monkeypatch.setenv(key, value)
    return home


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def tamper(home: Path) -> None:
    log = home / "logs/audit/audit.jsonl"
    lines = log.read_text("utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace('"outcome":', '"outcome":"x","was":', 1)
    log.write_text("".join(lines), "utf-8")


def test_each_outcome_has_its_code_in_process(counting: Path):
    assert invoke("run", "counting-bot")[0] == ExitCode.ITEMS_FAILED
    assert invoke("run", "counting-bot")[0] == ExitCode.OK
    assert invoke("run", "counting-bot", "--no-such-option")[0] == ExitCode.USAGE
    assert invoke("run", "counting-bot", "--input", "=x")[0] == ExitCode.USAGE
    assert invoke("items", "list", "--state", "sleeping")[0] == ExitCode.USAGE
    assert invoke("run", "no-such-bot")[0] == ExitCode.ERROR
    missing = invoke("run", "counting-bot", "--input", "csv=input/gone.csv")
    assert missing[0] == ExitCode.ERROR and "input file not found" in missing[1]
    assert invoke("audit", "verify")[0] == ExitCode.OK
    tamper(counting)
    assert invoke("audit", "verify")[0] == ExitCode.TAMPERED


def test_config_problems_are_errors_not_usage(counting: Path):
    (counting / "config/apps.yaml").write_text("apps:\n  counting:\n    kind: [\n", "utf-8")
    code, output = invoke("config", "check")
    assert code == ExitCode.ERROR and "apps.yaml:" in output
    assert invoke("runs", "list")[0] == ExitCode.ERROR


def test_an_unexpected_error_is_one_line_and_code_3(
    counting: Path, monkeypatch: pytest.MonkeyPatch
):
    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(counting / "logs/x"))

    monkeypatch.setattr("borough.runner.run_bot", disk_full)
    code, output = invoke("run", "counting-bot")
    assert code == ExitCode.ERROR
    assert "error: unexpected OSError: [Errno 28] No space left on device" in output
    assert "Traceback" not in output
    log = (counting / "logs/borough.log").read_text("utf-8")
    assert "Traceback" in log and "disk_full" in log  # kept for whoever investigates


def test_an_unanswered_question_is_not_a_success(counting: Path):
    result = runner.invoke(app, ["audit", "purge", "--older-than-days", "1"], input="n\n")
    assert result.exit_code == ExitCode.ERROR and "nothing purged" in result.output


def test_help_documents_the_codes():
    code, output = invoke("--help")
    assert code == ExitCode.OK
    for value in ExitCode:
        assert f"{int(value)}  " in output
    assert "Exit codes:" in output


def borough(home: Path, *args: str, fsize: int | None = None) -> subprocess.CompletedProcess[str]:
    def limit() -> None:
        if fsize is not None:  # writes past this size fail with EFBIG, like a full disk
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    return subprocess.run(
        [sys.executable, "-m", "borough", *args],
        env={**os.environ, **home_env(home)},
        cwd=ROOT,  # the support bots are imported from tests/
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=limit,
    )


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_each_outcome_has_its_code_from_a_real_process(tmp_path: Path):
    home = counting_home(tmp_path, people(5, bad_every=5))
    outcomes = {
        "failed items": (borough(home, "run", "counting-bot", "-q"), ExitCode.ITEMS_FAILED),
        "ok": (borough(home, "run", "counting-bot", "-q"), ExitCode.OK),
        "usage": (borough(home, "runs", "list", "--bogus"), ExitCode.USAGE),
        "error": (borough(home, "run", "no-such-bot"), ExitCode.ERROR),
    }
    tamper(home)
    outcomes["tampered"] = (borough(home, "audit", "verify"), ExitCode.TAMPERED)
    full = counting_home(tmp_path / "full", people(3))
    outcomes["disk full"] = (borough(full, "run", "counting-bot", fsize=4096), ExitCode.ERROR)
    for name, (done, expected) in outcomes.items():
        assert done.returncode == expected, f"{name}: {done.stdout}{done.stderr}"
        assert "Traceback" not in done.stderr, name
    assert "error:" in outcomes["disk full"][0].stderr
