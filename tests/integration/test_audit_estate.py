"""Two runner machines, one PostgreSQL ledger, one trail to audit (issue 20, part 4).

Each machine (``BOROUGH_HOST``) keeps its own chain in its own folder and signs it with its
own key, registered in the ledger; the index holds both machines' records, so the pages,
SAR and export of either machine see the whole estate, and ``audit verify`` checks every
chain it can read, shared (``audit.trails``) or shipped (``audit export`` + ``verify FILE``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from borough.audit.browse import AuditView, person_filters
from borough.audit.check import verify_estate
from borough.audit.indexrows import Filters
from borough.cli import app
from borough.runner import RunRequest, run_bot
from borough.secrets.store import SecretStore
from borough.secrets.writerkeys import writer_secret
from borough.testing import TEST_PASSPHRASE, home_env, runtime_in
from tests.support.installs import counting_home, people

pytestmark = [pytest.mark.postgres]


def machine(root: Path, url: str, rows: int, first: int, trails: dict[str, str] | None = None):
    people_rows = people(first + rows)[first:]
    settings = {"ledger": {"url": url}, "audit": {"checkpoint_every": 20, "trails": trails or {}}}
    return counting_home(root, people_rows, borough=settings)


def run_on(home: Path, host: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOROUGH_HOST", host)
    with runtime_in(home) as runtime:
        run_bot(runtime, RunRequest(bot="counting-bot"))


@pytest.fixture
def estate(tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch):
    """runner-a and runner-b: b's store is a copy of a's (how a runner is added), b's trail
    folder is readable from a (a shared mount)."""
    b = machine(tmp_path / "b", postgres_url, rows=4, first=10)
    a = machine(
        tmp_path / "a", postgres_url, rows=5, first=0, trails={"runner-b": str(b / "logs/audit")}
    )
    run_on(a, "runner-a", monkeypatch)
    shutil.copyfile(a / "var/secrets.cfg", b / "var/secrets.cfg")
    run_on(b, "runner-b", monkeypatch)
    monkeypatch.setenv("BOROUGH_HOST", "runner-a")
    return a, b


def test_each_writer_signs_with_its_own_registered_key(estate, monkeypatch: pytest.MonkeyPatch):
    a, b = estate
    pub_a = (a / "logs/audit/audit.pub").read_bytes()
    pub_b = (b / "logs/audit/audit.pub").read_bytes()
    assert pub_a != pub_b
    store_b = SecretStore.open(b / "var/secrets.cfg", TEST_PASSPHRASE)
    assert store_b.find(writer_secret("runner-b")) is not None
    with runtime_in(a) as runtime:
        writers = {w.trail: w.public_key.encode() for w in runtime.ledger.audit_writers.all()}
    assert writers == {"runner-a": pub_a, "runner-b": pub_b}
    # b's store copied back onto a does not let a sign as anyone but runner-a
    monkeypatch.setenv("BOROUGH_HOST", "runner-b")
    shutil.copyfile(a / "var/secrets.cfg", b / "var/secrets.cfg")  # b loses its own key
    from borough.errors import KeysMismatchError

    with (
        pytest.raises(KeysMismatchError, match="registers another audit signing key"),
        runtime_in(b),
    ):
        pass


def test_pages_sar_and_export_on_one_machine_see_both(estate):
    a, _b = estate
    with runtime_in(a) as runtime:
        view = AuditView.of(runtime).catch_up()
        page = view.page(Filters(action="item.done"), 1, 50)
        hosts = {r["host"] for r in page.records}
        assert hosts == {"runner-a", "runner-b"}
        assert all(r.get("detail") is not None or r["action"] for r in page.records)
        token = runtime.tokenizer.token("Person 12")  # worked on runner-b only
        sar = view.page(person_filters(token), 1, 50)
        assert sar.total >= 1 and {r["host"] for r in sar.records} == {"runner-b"}
    runner = CliRunner(env={**home_env(a), "BOROUGH_HOST": "runner-a"})
    out = runner.invoke(app, ["audit", "export", "--format", "jsonl"])
    assert out.exit_code == 0, out.output
    assert '"host":"runner-a"' in out.output and '"host":"runner-b"' in out.output


def test_verify_checks_every_chain_it_can_read(estate, tmp_path: Path):
    a, b = estate
    with runtime_in(a) as runtime:
        verdicts, notes = verify_estate(runtime, full=True)
    assert [(v.trail, v.ok) for v in verdicts] == [("runner-a", True), ("runner-b", True)]
    assert not notes
    log = b / "logs/audit/audit.jsonl"
    lines = log.read_text("utf-8").splitlines(keepends=True)
    lines[3] = lines[3].replace('"actor":"', '"actor":"x', 1)
    log.write_text("".join(lines), "utf-8")
    with runtime_in(a) as runtime:
        verdicts, _ = verify_estate(runtime, full=True)
    assert verdicts[0].ok
    assert verdicts[1].problem is not None
    assert (verdicts[1].trail, verdicts[1].problem.kind, verdicts[1].problem.seq) == (
        "runner-b",
        "modified",
        4,
    )


def test_a_trail_shipped_as_an_export_verifies_elsewhere(estate, tmp_path: Path):
    a, b = estate
    shipped = tmp_path / "runner-b.jsonl"
    ship = CliRunner(env={**home_env(b), "BOROUGH_HOST": "runner-b"}).invoke(
        app, ["audit", "export", "--format", "jsonl", "--trail", "runner-b", "-o", str(shipped)]
    )
    assert ship.exit_code == 0, ship.output
    check = CliRunner(env={**home_env(a), "BOROUGH_HOST": "runner-a"})
    ok = check.invoke(app, ["audit", "verify", str(shipped)])
    assert ok.exit_code == 0, ok.output
    assert "OK" in ok.output
    lines = shipped.read_text("utf-8").splitlines(keepends=True)
    del lines[5]
    shipped.write_text("".join(lines), "utf-8")
    bad = check.invoke(app, ["audit", "verify", str(shipped)])
    assert bad.exit_code == 4, bad.output
    assert "missing at record 6" in bad.output


def test_a_writer_unreachable_from_here_is_named(estate):
    a, _b = estate
    config = a / "config/borough.yaml"
    settings = yaml.safe_load(config.read_text())
    settings["audit"]["trails"] = {}
    config.write_text(yaml.safe_dump(settings))
    with runtime_in(a) as runtime:
        with runtime.ledger.engine.begin() as conn:  # b registered a folder only b can read
            conn.exec_driver_sql(
                "UPDATE borough_audit_writers SET folder = '/nowhere' WHERE trail = 'runner-b'"
            )
        verdicts, notes = verify_estate(runtime)
    assert [v.trail for v in verdicts] == ["runner-a"]
    assert any("runner-b is not readable from here" in note for note in notes)
