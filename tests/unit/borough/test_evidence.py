"""Evidence sealed at rest: what is stored, who can open it, and that every view is
recorded before anything is shown."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from borough.audit.reading import iter_records
from borough.audit.trail import AuditTrail
from borough.errors import AuditError, EvidenceError
from borough.evidence import DownloadFolder, FileCipher
from borough.evidence.access import listed, open_evidence, stored_state
from borough.evidence.cipher import MAGIC
from borough.testing import runtime_in
from connectors.files import read_table
from tests.support.installs import counting_home, people

RUN = "20261123-091300-3f9a1c"


class Row(BaseModel):
    claim: str = Field(alias="Claim Ref")
    name: str = Field(alias="Name")


PAGE = "<p>SMITH, Zoë lives at 12 Mill Lane,\nBarchester BA1 2CD</p>"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return counting_home(tmp_path / "home", people(1))


def actions(runtime) -> list[str]:
    return [r["action"] for r in iter_records(runtime.paths.audit)]


def test_stored_evidence_is_sealed_and_its_recorded_hash_is_of_the_stored_bytes(home: Path):
    with runtime_in(home) as runtime:
        runtime.redactor.add_personal("12 Mill Lane, Barchester BA1 2CD", "address")
        saved = runtime.evidence(RUN).save(
            runtime.trail, "window.html", PAGE, kind="page-html", item="p_item"
        )
        stored = saved.path.read_bytes()
        assert stored.startswith(MAGIC)
        for clear in (b"Mill", b"SMITH", b"BA1", b"<p>"):
            assert clear not in stored
        assert saved.sha256 == hashlib.sha256(stored).hexdigest()
        [captured] = listed(runtime.paths.audit, run=RUN)
        assert (captured.relative, captured.sha256) == (saved.relative, saved.sha256)
        assert stored_state(runtime.paths.logs, captured) == "intact"
        record = [r for r in iter_records(runtime.paths.audit) if r["evidence"]][-1]
        assert record["evidence"][0]["sha256"] == saved.sha256


def test_opened_evidence_is_the_captured_content_and_the_view_is_recorded_first(home: Path):
    shot = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    with runtime_in(home) as runtime:
        runtime.redactor.add_personal("12 Mill Lane, Barchester BA1 2CD", "address")
        store = runtime.evidence(RUN)
        page = store.save(runtime.trail, "window.html", PAGE, kind="page-html", item="p_i")
        image = store.save(runtime.trail, "window.png", shot, kind="screenshot", item="p_i")
        operator = runtime.trail.bind(actor="user:alice")
        opened = open_evidence(runtime, operator, image.relative, purpose="item 12 failed: why?")
        assert opened.data == shot and opened.sealed and opened.media_type == "image/png"
        text = open_evidence(runtime, operator, page.relative, purpose="investigating item 12")
        assert "Mill" not in text.text() and "[address:p_" in text.text()  # redacted, then sealed
        assert text.text() == runtime.redactor.redact(PAGE)
        viewed = [r for r in iter_records(runtime.paths.audit) if r["action"] == "evidence.viewed"]
        assert [v["detail"]["path"] for v in viewed] == [image.relative, page.relative]
        assert viewed[0]["actor"] == "user:alice"
        assert viewed[0]["detail"]["purpose"] == "item 12 failed: why?"
        assert viewed[0]["detail"]["sha256"] == image.sha256


def test_nothing_is_shown_when_the_view_cannot_be_recorded(home: Path, monkeypatch):
    with runtime_in(home) as runtime:
        saved = runtime.evidence(RUN).save(runtime.trail, "a.txt", "x", kind="note", item="p_i")

        def broken(*args, **kwargs):
            raise AuditError("disk full")

        monkeypatch.setattr(AuditTrail, "emit", broken)
        with pytest.raises(AuditError):
            open_evidence(runtime, runtime.trail, saved.relative, purpose="checking the note")


def test_a_view_needs_a_purpose(home: Path):
    with runtime_in(home) as runtime:
        saved = runtime.evidence(RUN).save(runtime.trail, "a.txt", "x", kind="note", item="p_i")
        with pytest.raises(EvidenceError, match="say why"):
            open_evidence(runtime, runtime.trail, saved.relative, purpose="  ")
        assert "evidence.viewed" not in actions(runtime)


def test_altered_moved_or_uncaptured_files_are_refused_and_the_refusal_recorded(home: Path):
    with runtime_in(home) as runtime:
        store = runtime.evidence(RUN)
        first = store.save(runtime.trail, "a.txt", "first", kind="note", item="p_one")
        second = store.save(runtime.trail, "b.txt", "second", kind="note", item="p_two")
        data = bytearray(first.path.read_bytes())
        data[-1] ^= 1
        first.path.write_bytes(bytes(data))
        with pytest.raises(EvidenceError, match="hash differs"):
            open_evidence(runtime, runtime.trail, first.relative, purpose="looking at it")
        # a sealed file put in another's place (hash forged too) does not open
        shutil.copy(second.path, first.path)
        forged = runtime.trail
        forged.emit(
            "evidence.captured",
            item="p_one",
            evidence=[{"path": first.relative, "sha256": second.sha256, "kind": "note"}],
        )
        with pytest.raises(EvidenceError, match="cannot be decrypted"):
            open_evidence(runtime, runtime.trail, first.relative, purpose="looking at it")
        with pytest.raises(EvidenceError, match="lists no evidence"):
            open_evidence(runtime, runtime.trail, f"evidence/{RUN}/p_one/c.txt", purpose="looking")
        with pytest.raises(EvidenceError, match="not an evidence file"):
            open_evidence(runtime, runtime.trail, "../var/ledger.sqlite", purpose="looking")
        refused = [
            r for r in iter_records(runtime.paths.audit) if r["action"] == "evidence.refused"
        ]
        assert len(refused) == 4 and "evidence.viewed" not in actions(runtime)


def test_evidence_does_not_open_with_another_installations_keys(home: Path, tmp_path: Path):
    with runtime_in(home) as runtime:
        saved = runtime.evidence(RUN).save(runtime.trail, "a.txt", "secret", kind="note")
        stored = saved.path.read_bytes()
        assert runtime.evidence_cipher.open(stored, saved.relative) == b"secret"
    with pytest.raises(EvidenceError, match="cannot be decrypted"):
        FileCipher(b"\x01" * 32).open(stored, saved.relative)


def test_a_trace_keeps_its_text_redacted_and_leaves_images_out(home: Path):
    source = io.BytesIO()
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("trace.trace", json.dumps({"value": "Brontë"}) + "\n")
        archive.writestr("trace.network", '{"postData":"txtSurname=Bront%C3%AB"}\n')
        archive.writestr("resources/abc.html", "<td>BRONTË,<br>Zoë</td>")
        archive.writestr("resources/shot.jpeg", b"\xff\xd8\xff\xe0Bront\xc3\xab")
    with runtime_in(home) as runtime:
        runtime.redactor.add_personal("Brontë", "name")
        saved = runtime.evidence(RUN).save(
            runtime.trail, "trace.zip", source.getvalue(), kind="trace", item="p_i"
        )
        opened = open_evidence(runtime, runtime.trail, saved.relative, purpose="trace of item")
    with zipfile.ZipFile(io.BytesIO(opened.data)) as archive:
        texts = {n: archive.read(n).decode() for n in archive.namelist()}
    assert "resources/shot.jpeg" not in texts
    assert "1 binary resource(s)" in texts["borough-redaction.txt"]
    assert all("bront" not in t.lower() for t in texts.values())


def test_a_download_is_sealed_as_sent_and_read_in_memory(home: Path):
    report = "Claim Ref,Name\nHB000001,Zoë Brontë\nHB000002,Seán Ó Súilleabháin\n"
    with runtime_in(home) as runtime:
        folder = DownloadFolder(runtime.evidence(RUN), runtime.trail)
        saved = folder.save("cases.csv", report.encode())
        again = folder.save("cases.csv", b"second copy")
        assert saved.path.parent == folder.path and again.path.name == "cases-2.csv"
        assert b"Bront" not in saved.path.read_bytes()
        assert saved.read_bytes() == report.encode()  # as the app sent it: not redacted
        rows = list(read_table(saved, Row))
        assert [r.value.name for r in rows if r.value] == ["Zoë Brontë", "Seán Ó Súilleabháin"]
        assert rows[0].source == "cases.csv row 2"
        saved.path.write_bytes(again.path.read_bytes())
        with pytest.raises(EvidenceError, match="changed since"):
            saved.read_bytes()
