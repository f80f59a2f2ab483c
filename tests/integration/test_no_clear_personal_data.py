"""A canary secret and canary personal data passed through a run appear nowhere in clear."""

from __future__ import annotations

from pathlib import Path

from borough.runner import RunRequest, run_bot
from borough.testing import runtime_in
from tests.support.installs import counting_home

SECRET = "Sup3r-CANARY-s3cret-7731"
NAME = "Zebedee Canaryperson"
EMAIL = "zebedee.canary@example.org"
NINO = "QQ123456C"


def artifacts(home: Path) -> list[Path]:
    return [p for p in (home / "logs").rglob("*") if p.is_file()] + [
        p for p in (home / "var").rglob("*") if p.is_file() and "target" not in p.name
    ]


def test_canaries_never_reach_logs_ledger_or_evidence(tmp_path: Path):
    rows = [
        {"Ref": "R1", "Name": NAME, "Email": EMAIL, "Amount": 5},
        {"Ref": "R2", "Name": NAME, "Email": EMAIL, "Amount": 999},  # business rule names them
        {"Ref": "R3", "Name": f"{NAME} {NINO}", "Email": EMAIL, "Amount": "x"},  # invalid row
    ]
    home = counting_home(
        tmp_path,
        rows,
        settings={"use_secret": "canary-login"},
        target={"fail_after_rate": 1.0, "seed": 1},  # every write needs a lookup + evidence
    )
    with runtime_in(home) as runtime:
        runtime.secrets.set("canary-login", SECRET)
        run = run_bot(runtime, RunRequest("counting-bot"))
    assert run.counts.done == 1 and run.counts.failed == 2
    files = artifacts(home)
    assert any(p.suffix == ".jsonl" for p in files) and any(p.suffix == ".log" for p in files)
    assert any("evidence" in p.parts for p in files)
    for path in files:
        data = path.read_bytes()
        for canary in (SECRET, NAME, "Canaryperson", EMAIL, NINO, "zebedee"):
            assert canary.encode() not in data, f"{canary!r} in clear in {path}"
    run_log = next(p for p in files if p.name == f"{run.id}.log").read_text("utf-8")
    assert "logging in with [SECRET]" in run_log
