"""Run ids are ours: the audit trail keeps them whole even when they look like a postcode."""

from __future__ import annotations

from pathlib import Path

from borough.audit.reading import iter_records
from borough.audit.redact import Redactor
from borough.testing import runtime_in
from tests.support.installs import counting_home, people

POSTCODE_LIKE = "20261123-131331-b863ed"  # "b863ed" reads as the postcode B86 3ED


def test_a_postcode_like_run_id_survives_in_the_audit_trail(tmp_path: Path):
    assert Redactor().redact(POSTCODE_LIKE) != POSTCODE_LIKE  # the pattern does match it
    with runtime_in(counting_home(tmp_path, people(1))) as runtime:
        runtime.trail.bind(run_id=POSTCODE_LIKE).emit("run.start", detail={"note": "SW1A 1AA"})
        [record] = [r for r in iter_records(runtime.paths.audit) if r["action"] == "run.start"]
    assert record["run_id"] == POSTCODE_LIKE
    assert record["detail"] == {"note": "[POSTCODE]"}, "other fields are still redacted"


def test_new_run_ids_never_look_like_personal_data():
    from borough.ledger.runs import new_run_id

    redactor = Redactor()
    ids = [new_run_id() for _ in range(3000)]
    assert all(redactor.redact(run_id) == run_id for run_id in ids)
    assert len(set(ids)) > 2900
