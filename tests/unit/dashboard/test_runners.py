"""The Runners page: every machine from the shared ledger, for operators and auditors."""

from __future__ import annotations

from borough.ledger import RunStatus
from tests.support.dashboard import Site
from tests.support.ledger import age_heartbeat


def test_runners_page_lists_machines_queues_runs_and_seats(site: Site):
    ledger = site.dash.runtime.ledger
    ledger.runners.register("runner-7", 4242, ["app:counting", "host:runner-7"], 2, "0.1.0")
    run = ledger.runs.create("counting-bot", "1.0.0", seats={"counting": 1})
    page = site.sign_in("audrey").get("/runners").text
    assert "runner-7" in page and "app:counting, host:runner-7" in page and "alive" in page
    assert run.id in page and "counting #1" in page
    ledger.runners.stopped("runner-7", 4242)
    ledger.runs.finish(run.id, RunStatus.SUCCEEDED, expect=(RunStatus.RUNNING,))
    page = site.sign_in("olivia").get("/runners").text
    assert "stopped" in page and run.id not in page


def test_runners_page_needs_a_sign_in(site: Site):
    response = site.client().get("/runners", follow_redirects=False)
    assert response.status_code in (302, 303, 401)


def test_runners_page_judges_a_runner_by_its_own_heartbeat(site: Site):
    ledger = site.dash.runtime.ledger
    ledger.runners.register("runner-8", 4343, ["app:counting"], 1, "0.1.0", beat_seconds=1)
    age_heartbeat(ledger, "runner-8", 6)
    page = site.sign_in("audrey").get("/runners").text
    assert "silent 6s" in page or "silent 7s" in page
