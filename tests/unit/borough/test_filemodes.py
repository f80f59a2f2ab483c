"""borough.filemodes: private files and folders even under a loose umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from borough import filemodes
from borough.audit.redact import Redactor
from borough.evidence import EvidenceStore, FileCipher


@pytest.fixture(autouse=True)
def loose_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_folders_made_are_private_and_existing_ones_left(tmp_path: Path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    made = filemodes.make_folder(shared / "a" / "b")
    assert mode(shared / "a") == mode(made) == 0o700
    assert mode(shared) == 0o755  # not ours to change
    assert filemodes.make_folder(made) == made


def test_files_opened_or_written_are_private_and_loose_ones_tightened(tmp_path: Path):
    log = tmp_path / "run.log"
    with filemodes.open_private(log, "a", encoding="utf-8") as handle:
        handle.write("one\n")
    assert mode(log) == 0o600
    os.chmod(log, 0o644)
    with filemodes.open_private(log, "a", encoding="utf-8") as handle:
        handle.write("two\n")
    assert mode(log) == 0o600 and log.read_text() == "one\ntwo\n"
    filemodes.write_private(tmp_path / "shot.png", b"png")
    assert mode(tmp_path / "shot.png") == 0o600
    database = filemodes.private_file(tmp_path / "var" / "ledger.sqlite")
    assert mode(database) == 0o600 and mode(database.parent) == 0o700


def test_a_loose_folder_is_tightened_with_everything_under_it(tmp_path: Path):
    logs = tmp_path / "logs"
    (logs / "evidence" / "run").mkdir(parents=True)
    (logs / "evidence" / "run" / "page.html").write_text("x")
    (logs / "borough.log").write_text("x")
    filemodes.tighten_folders([logs, tmp_path / "var"])
    assert mode(logs) == mode(logs / "evidence" / "run") == mode(tmp_path / "var") == 0o700
    assert mode(logs / "borough.log") == mode(logs / "evidence" / "run" / "page.html") == 0o600


def test_evidence_files_are_private(tmp_path: Path):
    class Trail:
        def emit(self, *args: object, **kwargs: object) -> None:
            pass

    store = EvidenceStore(
        tmp_path / "logs", "20261123-090000-abcdef", Redactor(), FileCipher(b"k" * 32)
    )
    saved = store.save(Trail(), "shot.png", b"png", kind="screenshot", item="p_x")  # type: ignore[arg-type]
    assert mode(saved.path) == 0o600 and mode(saved.path.parent) == 0o700
    download = store.save_download(Trail(), "cases.csv", b"report")  # type: ignore[arg-type]
    assert mode(download.path) == 0o600 and mode(download.path.parent) == 0o700


def test_run_logs_are_private_and_a_full_disk_warns_once(tmp_path: Path, capsys):
    from loguru import logger

    from borough.logconfig import GENERAL_LOG, RunLogSink

    sink = RunLogSink(tmp_path / "logs", Redactor())
    handler = logger.add(sink, format="{message}")
    try:
        logger.bind(run_id="20261123-090000-abcdef").info("one")
        run_log = tmp_path / "logs/runs/20261123-090000-abcdef.log"
        assert mode(run_log) == 0o600 and mode(run_log.parent) == 0o700
        (tmp_path / "logs" / GENERAL_LOG).mkdir()  # any write there now fails
        logger.info("two")
        logger.info("three")
    finally:
        logger.remove(handler)
    err = capsys.readouterr().err
    assert err.count("warning: cannot write the log") == 1 and "Traceback" not in err


def test_a_run_log_removed_or_replaced_while_open_is_written_again(tmp_path: Path):
    """The run log stays open between lines; a purge (or an operator moving it away) must
    not send the next lines into a file nobody can read."""
    from loguru import logger

    from borough.logconfig import RunLogSink

    sink = RunLogSink(tmp_path / "logs", Redactor())
    handler = logger.add(sink, format="{message}")
    run_log = tmp_path / "logs/runs/20261123-090000-abcdef.log"
    run = logger.bind(run_id="20261123-090000-abcdef")
    try:
        run.info("one")
        run_log.unlink()
        run.info("two")
        run_log.rename(tmp_path / "kept.log")
        run_log.write_text("")
        run.info("three")
        logger.info("general")
        run.info("four")
    finally:
        logger.remove(handler)
    assert run_log.read_text() == "three\nfour\n" and mode(run_log) == 0o600
    assert (tmp_path / "kept.log").read_text() == "two\n"
