"""What the pages do, over real HTTP: item decisions with four-eyes, search without keys in
URLs, the auditor's export, SAR and verification, and account administration."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pytest

from borough.config.models import DashboardSettings
from borough.dashboard.app import create_app
from borough.dashboard.state import Dashboard
from borough.ledger import ItemState
from tests.support.dashboard import FAST_HASHER, PASSWORD, Site, csrf_of, post_form, serving


def test_resolving_needs_a_reason_and_moves_the_item(site: Site):
    client = site.sign_in("olivia")
    item = site.seeded.review_id
    page = f"/items/{item}"
    empty = post_form(client, page, f"{page}/resolve", to="done", reason="  ", reference="REF-77")
    assert empty.status_code == 400
    assert f"<title>Error: Item {item}" in empty.text
    summary = empty.text.split('class="govuk-error-summary"')[1].split("</ul>")[0]
    assert '<a href="#reason">Enter what you checked' in summary
    assert 'id="reason-error"' in empty.text and 'value="REF-77"' in empty.text  # kept
    no_reference = post_form(client, page, f"{page}/resolve", to="done", reason="found it")
    assert no_reference.status_code == 400
    assert '<a href="#reference">Enter the target system' in no_reference.text
    assert ">found it</textarea>" in no_reference.text
    assert site.dash.runtime.ledger.items.get(item).state is ItemState.NEEDS_REVIEW
    post_form(client, page, f"{page}/resolve", to="done", reason="found it", reference="REF-77")
    moved = site.dash.runtime.ledger.items.get(item)
    assert (moved.state, moved.reference) == (ItemState.DONE, "REF-77")
    assert moved.resolution == "resolved as done by user:olivia: found it"
    record = [r for r in site.audit() if r["action"] == "item.resolved"][-1]
    assert record["actor"] == "user:olivia" and record["item"] == moved.key_token
    assert "via" not in record["detail"] and record["detail"]["from"] == "needs_review"


def test_a_done_item_cannot_be_overridden(site: Site):
    client = site.sign_in("olivia")
    done = site.dash.runtime.ledger.items.list(states=[ItemState.DONE], limit=1)[0]
    page = f"/items/{done.id}"
    post_form(client, page, f"{page}/resolve", to="pending", reason="try again")
    assert "it cannot be set to PENDING" in client.get(page).text
    assert site.dash.runtime.ledger.items.get(done.id).state is ItemState.DONE


def test_four_eyes_needs_a_second_operator(site: Site):
    dash = Dashboard.open(
        site.dash.runtime,
        settings=DashboardSettings(four_eyes=True),
        hasher=FAST_HASHER,
        clock=site.clock,
    )
    item = site.seeded.review2_id
    ledger = site.dash.runtime.ledger
    with serving(create_app(dash)) as url:
        asker, checker = site.client(), site.client()
        for client, name in ((asker, "olivia"), (checker, "oscar")):
            client.base_url = url
            post_form(client, "/sign-in", "/sign-in", name=name, password=PASSWORD)
        page = f"/items/{item}"
        post_form(asker, page, f"{page}/resolve", to="skipped", reason="duplicate of R9001")
        assert ledger.items.get(item).state is ItemState.NEEDS_REVIEW
        request = dash.approvals.pending(item_id=item)[0]
        assert "waits for another operator" in asker.get(page).text
        post_form(asker, "/approvals", f"/approvals/{request.id}/approve")
        assert "a different operator must approve" in asker.get("/approvals").text
        assert ledger.items.get(item).state is ItemState.NEEDS_REVIEW
        post_form(checker, "/approvals", f"/approvals/{request.id}/approve", back=page)
    moved = ledger.items.get(item)
    assert moved.state is ItemState.SKIPPED
    assert moved.resolution == (
        "resolved as skipped by user:olivia, approved by user:oscar: duplicate of R9001"
    )
    records = site.audit()
    asked = [r for r in records if r["action"] == "item.override_requested"][-1]
    done = [r for r in records if r["action"] == "item.resolved"][-1]
    assert asked["actor"] == "user:olivia" and asked["outcome"] == "pending"
    assert done["actor"] == "user:oscar" and done["detail"]["requested_by"] == "user:olivia"


def test_an_approval_is_void_if_the_item_changed_meanwhile(site: Site):
    dash = Dashboard.open(
        site.dash.runtime, settings=DashboardSettings(four_eyes=True), hasher=FAST_HASHER
    )
    ledger = site.dash.runtime.ledger
    failed = ledger.items.list(states=[ItemState.FAILED], limit=10)
    target = next(i for i in failed if i.id != site.seeded.failed_id)
    with serving(create_app(dash)) as url:
        asker, checker = site.client(), site.client()
        for client, name in ((asker, "olivia"), (checker, "oscar")):
            client.base_url = url
            post_form(client, "/sign-in", "/sign-in", name=name, password=PASSWORD)
        page = f"/items/{target.id}"
        post_form(asker, page, f"{page}/resolve", to="done", reason="keyed by hand", reference="X1")
        request = dash.approvals.pending(item_id=target.id)[0]
        post_form(checker, page, f"{page}/retry", reason="fixed the row")  # retry is not held
        assert ledger.items.get(target.id).state is ItemState.PENDING
        post_form(checker, "/approvals", f"/approvals/{request.id}/approve")
        assert "changed since the request" in checker.get("/approvals").text
    assert ledger.items.get(target.id).state is ItemState.PENDING
    assert dash.approvals.get(request.id).status.value == "void"


def test_search_posts_the_key_and_links_by_token(site: Site):
    client = site.sign_in("olivia")
    run = site.seeded.run_id
    response = post_form(client, f"/runs/{run}", f"/runs/{run}/search", key="R0002")
    token = site.dash.runtime.tokenizer.token("R0002")
    assert response.headers["location"] == f"/runs/{run}?token={token}"
    assert "R0002" not in response.headers["location"]
    page = client.get(response.headers["location"]).text
    assert page.count('href="/items/') == 1 and token in page


def test_item_tables_filter_and_page(site: Site):
    client = site.sign_in("audrey")
    failed = client.get("/items?state=failed").text
    assert "No items match" not in failed and "DONE</strong>" not in failed
    for n in range(30):
        site.dash.runtime.ledger.runs.create(
            "paging-bot", "1", run_id=f"20200101-0000{n:02d}-aaaaaa"
        )
    first = client.get("/runs?bot=paging-bot").text
    assert first.count('href="/runs/2020') == 25 and 'rel="next"' in first
    second = client.get("/runs?bot=paging-bot&page=2").text
    assert second.count('href="/runs/2020') == 5 and 'rel="prev"' in second


def test_export_gives_the_records_of_a_date_range(site: Site):
    client = site.sign_in("audrey")
    today = datetime.now().astimezone()
    day = {"from-day": today.day, "from-month": today.month, "from-year": today.year}
    jsonl = post_form(client, "/audit/export", "/audit/export", format="jsonl", **day)
    assert jsonl.status_code == 200
    assert jsonl.headers["content-disposition"].startswith('attachment; filename="borough-audit-')
    rows = [json.loads(line) for line in jsonl.text.splitlines()]
    assert rows and all({"seq", "hash", "prev_hash"} <= set(r) for r in rows)
    empty = post_form(
        client,
        "/audit/export",
        "/audit/export",
        format="csv",
        **{"to-day": 1, "to-month": 1, "to-year": 2001},
    )
    assert next(iter(csv.reader(io.StringIO(empty.text))))[:3] == ["schema", "seq", "ts"]
    assert len(empty.text.splitlines()) == 1
    bad = post_form(
        client,
        "/audit/export",
        "/audit/export",
        **{"from-day": 31, "from-month": 2, "from-year": 2026},
    )
    assert bad.status_code == 400 and "must be a real date" in bad.text
    record = [r for r in site.audit() if r["action"] == "audit.export"][-1]
    assert record["actor"] == "user:audrey" and record["detail"]["format"] == "csv"


def test_sar_search_finds_a_person_by_identifier_without_keeping_it(site: Site):
    client = site.sign_in("audrey")
    response = post_form(client, "/audit/sar", "/audit/sar", who="ZOË  example")
    token = site.dash.runtime.tokenizer.token("Zoë Example")
    assert response.status_code == 200 and token in response.text
    assert "2 work items are about this person" in response.text
    download = post_form(client, "/audit/sar", "/audit/sar", who=token, format="csv")
    assert download.text.startswith("schema,seq,ts")
    record = [r for r in site.audit() if r["action"] == "audit.sar"][-1]
    assert record["actor"] == "user:audrey" and record["subjects"] == [token]
    trail = (site.dash.runtime.paths.audit / "audit.jsonl").read_text("utf-8").lower()
    assert "zoë example" not in trail and "zoë  example" not in trail


def test_audit_browser_filters_by_run_item_and_person(site: Site):
    client = site.sign_in("audrey")
    token = site.dash.runtime.tokenizer.token("Zoë Example")
    page = client.get(f"/audit?person={token}").text
    assert "item.needs_review" in page and "run.start" not in page
    by_run = client.get(f"/audit?run={site.seeded.run_id}&action=run.").text
    assert "run.start" in by_run and "item.intent" not in by_run
    bad = client.get("/audit?person=AB123456C")
    assert (
        "Enter a token starting p_" in bad.text
        and "AB123456C" not in bad.text.split("<main")[1].split("value=")[0]
    )


def test_an_identifier_typed_into_a_filter_never_reaches_a_url(site: Site):
    client = site.sign_in("audrey")
    token = site.dash.runtime.tokenizer.token("AB 12 34 56 C")
    form = {"person": "ab123456c", "item": "R9001", "action": "item."}
    posted = client.post("/audit", data={"csrf_token": csrf_of(client.get("/audit").text), **form})
    location = posted.headers["location"]
    assert posted.status_code == 303 and "123456" not in location and "R9001" not in location
    assert f"person={token}" in location
    assert f"item={site.dash.runtime.tokenizer.token('R9001')}" in location
    page = client.get(location).text
    assert f'value="{token}"' in page and "ab123456c" not in page.lower()
    operator = site.sign_in("olivia")
    filtered = post_form(
        operator, "/items", "/items", reason="rang about AB 12 34 56 C", state="failed"
    )
    assert "123456" not in filtered.headers["location"]
    assert "state=failed" in filtered.headers["location"]
    assert operator.get(filtered.headers["location"]).status_code == 200


def test_admin_manages_accounts_and_every_change_is_audited(site: Site):
    admin = site.sign_in("adam")
    added = post_form(
        admin,
        "/admin/users",
        "/admin/users",
        name="nina",
        password="a new long password",
        roles=["operator", "auditor"],
    )
    assert added.status_code == 303
    nina = site.sign_in("nina", "a new long password")
    assert nina.get("/audit").status_code == 200
    post_form(admin, "/admin/users", "/admin/users/nina/disable")
    assert nina.get("/runs").status_code == 303  # signed out at once
    refused = site.client()
    assert (
        post_form(
            refused, "/sign-in", "/sign-in", name="nina", password="a new long password"
        ).status_code
        == 401
    )
    short = post_form(
        admin, "/admin/users", "/admin/users", name="pete", password="short", roles=["operator"]
    )
    assert short.status_code == 400 and "at least 12 characters" in short.text
    last_admin = post_form(admin, "/admin/users", "/admin/users/adam/disable")
    assert "leave no administrator" in admin.get(last_admin.headers["location"]).text
    actions = [r["action"] for r in site.audit() if r["actor"] == "user:adam"]
    assert "dashboard.user_added" in actions and "dashboard.user_disabled" in actions


def test_changing_your_password_signs_out_your_other_sessions(site: Site):
    laptop, phone = site.sign_in("oscar"), site.sign_in("oscar")
    wrong = post_form(
        laptop,
        "/account/password",
        "/account/password",
        current="nope",
        new="x" * 12,
        confirm="x" * 12,
    )
    assert wrong.status_code == 400 and "current password is not right" in wrong.text
    ok = post_form(
        laptop,
        "/account/password",
        "/account/password",
        current=PASSWORD,
        new="another long password",
        confirm="another long password",
    )
    assert ok.status_code == 303
    assert "Your password was changed" in laptop.get("/").text
    assert phone.get("/").status_code == 303
    assert site.dash.users.authenticate("oscar", "another long password") is not None
    site.dash.users.set_password("oscar", PASSWORD)


@pytest.mark.parametrize("tamper", ["edit", "cut"])
def test_verification_names_the_first_bad_record(site: Site, tamper: str, tmp_path):
    log = site.dash.runtime.paths.audit / "audit.jsonl"
    client = site.sign_in("audrey")  # signing in appends to the trail: keep what it wrote
    assert "The trail is intact" in client.get("/audit/verify").text
    original = log.read_bytes()
    lines = original.decode("utf-8").splitlines(keepends=True)
    if tamper == "edit":
        record = json.loads(lines[4])
        record["outcome"] = "failed"
        lines[4] = (
            json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
        )
        expected = "modified</strong>\n        at record 5"
    else:
        lines = lines[:10]
        expected = "truncated</strong>"
    try:
        log.write_text("".join(lines), "utf-8")
        page = client.get("/audit/verify").text
    finally:
        log.write_bytes(original)
    assert "The trail has been altered or damaged" in page
    assert expected in page


def test_csv_exports_make_formula_cells_inert(site: Site):
    site.dash.runtime.trail.bind(actor="bot:counting-bot").emit(
        "item.failed", outcome="failed", error='=HYPERLINK("http://evil.example","open")'
    )
    client = site.sign_in("audrey")
    today = datetime.now().astimezone()
    day = {"from-day": today.day, "from-month": today.month, "from-year": today.year}
    exported = post_form(client, "/audit/export", "/audit/export", format="csv", **day)
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    errors = [r["error"] for r in rows if "HYPERLINK" in (r["error"] or "")]
    assert errors == ['\'=HYPERLINK("http://evil.example","open")']
    assert not any(v.startswith(("=", "+", "@")) for r in rows for v in r.values() if v)
    jsonl = post_form(client, "/audit/export", "/audit/export", format="jsonl", **day)
    assert '"error":"=HYPERLINK' in jsonl.text  # JSON Lines stay exactly as stored


def test_bulk_retry_without_four_eyes_moves_what_fits_and_says_what_it_left(site: Site):
    ledger = site.dash.runtime.ledger
    failed = [i.id for i in ledger.items.list(states=[ItemState.FAILED], limit=2)]
    review = ledger.items.list(states=[ItemState.DONE], limit=1)[0].id
    chosen = [*map(str, failed), str(review)]
    client = site.sign_in("olivia")
    token = csrf_of(client.get("/items").text)
    form = {"csrf_token": token, "action": "retry", "item": chosen}
    check = client.post("/items/bulk", data=form)
    assert check.status_code == 200 and f"Retry {len(failed)} item" in check.text
    assert f"item {review} (it is DONE, not FAILED)" in check.text
    done = client.post("/items/bulk/confirm", data={**form, "reason": "limit raised"})
    assert done.status_code == 200 and "will be tried again" in done.text
    assert {ledger.items.get(i).state for i in failed} == {ItemState.PENDING}
    assert ledger.items.get(review).state is ItemState.DONE
    assert "retry by user:olivia: limit raised" in (ledger.items.get(failed[0]).resolution or "")
    listing = client.get("/items?state=pending").text
    assert '<td class="govuk-table__cell" data-label="Decided by">olivia</td>' in listing


def test_runs_show_who_pressed_run_now(site: Site):
    client = site.sign_in("olivia")
    confirm = client.get("/schedules/nightly-counting/run-now")
    assert confirm.status_code == 200 and "Run nightly-counting now?" in confirm.text
    done = post_form(
        client, "/schedules/nightly-counting/run-now", "/schedules/nightly-counting/run-now"
    )
    assert done.status_code == 303
    runs = client.get("/runs").text
    assert "olivia (Run now of nightly-counting)" in runs
