"""The schedule pages over the real scheduler's operator API (no scheduler process running:
changes are applied to its store directly, as `borough schedules pause` does)."""

from __future__ import annotations

from borough.ledger import RunStatus
from tests.support.dashboard import Site, post_form


def test_schedules_show_next_fire_and_state(site: Site):
    page = site.sign_in("audrey").get("/schedules").text
    assert "No scheduler is running" in page
    assert "nightly-counting" in page and "weekly-counting" in page
    assert "ACTIVE" in page and "working days (england-and-wales)" in page
    assert "/run-now" not in page and "/pause" not in page  # auditors only look


def test_operator_pauses_resumes_and_runs_now_and_the_trail_names_them(site: Site):
    client = site.sign_in("olivia")
    post_form(client, "/schedules", "/schedules/nightly-counting/pause")
    page = client.get("/schedules").text
    assert "nightly-counting: nightly-counting paused" in page
    row = page.split("nightly-counting</strong>", 1)[1].split("</tr>", 1)[0]
    assert "PAUSED" in row and "Resume" in row
    post_form(client, "/schedules", "/schedules/nightly-counting/resume")
    assert "nightly-counting resumed; next fire" in client.get("/schedules").text
    post_form(client, "/schedules", "/schedules/weekly-counting/run-now")
    page = client.get("/schedules").text
    assert "queued: the scheduler starts it when seats allow" in page
    queued = site.dash.runtime.ledger.runs.list(
        statuses=[RunStatus.QUEUED], schedule="weekly-counting"
    )
    assert len(queued) == 1 and queued[0].trigger == "run-now:user:olivia"
    assert queued[0].id in client.get("/queue").text
    records = {r["action"]: r for r in site.audit() if r["action"].startswith("schedule.")}
    for action in ("schedule.paused", "schedule.resumed", "schedule.run_now"):
        assert records[action]["actor"] == "user:olivia", action


def test_an_unknown_schedule_is_a_clear_message(site: Site):
    client = site.sign_in("olivia")
    post_form(client, "/schedules", "/schedules/no-such/pause")
    assert "no schedule named &#39;no-such&#39;" in client.get("/schedules").text
