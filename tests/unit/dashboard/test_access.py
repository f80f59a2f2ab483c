"""Who may see and do what, over real HTTP: roles on every route, CSRF on every form,
sign-in throttling, session expiry, and the evidence folder's walls."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute

from borough.dashboard.app import ROUTERS
from borough.ledger import ItemState
from tests.support.dashboard import Site, csrf_of, post_form

OPS = {"olivia", "audrey"}  # operator, auditor
EVERYONE = {"olivia", "audrey", "adam"}

#: Every GET route (path template) -> accounts that may open it.
PAGES: dict[str, set[str]] = {
    "/": OPS,
    "/runs": OPS,
    "/runs/{run_id}": OPS,
    "/items": OPS,
    "/items/{item_id}": OPS,
    "/approvals": OPS,
    "/queue": OPS,
    "/runners": OPS,
    "/schedules": OPS,
    "/drift": OPS,
    "/benefits": OPS,
    "/benefits.csv": OPS,
    "/evidence/view/{relative:path}": OPS,  # what it is and its hash check: not its content
    "/audit": {"audrey"},
    "/audit/verify": {"audrey"},
    "/audit/export": {"audrey"},
    "/audit/sar": {"audrey"},
    "/admin/users": {"adam"},
    "/admin/users/{name}/disable": {"adam"},
    "/schedules/{schedule_id}/run-now": {"olivia"},
    "/account/password": EVERYONE,
    "/sign-in": set(),  # public
}
#: Every POST route -> accounts that may use it.
FORMS: dict[str, set[str]] = {
    "/sign-in": set(),
    "/sign-out": EVERYONE,
    "/runs/{run_id}/search": OPS,
    "/items/search": OPS,
    "/items": OPS,  # the filters, posted so that typed text reaches the URL only redacted
    "/items/{item_id}/retry": {"olivia"},
    "/items/{item_id}/resolve": {"olivia"},
    "/items/bulk": {"olivia"},
    "/items/bulk/confirm": {"olivia"},
    "/approvals/{batch_id}/{decision}": {"olivia"},
    "/evidence/view/{relative:path}": {"olivia"},  # dashboard.evidence_roles: operator
    "/evidence/file/{relative:path}": {"olivia"},
    "/schedules/{schedule_id}/{action}": {"olivia"},
    "/audit": {"audrey"},
    "/audit/export": {"audrey"},
    "/audit/sar": {"audrey"},
    "/admin/users": {"adam"},
    "/admin/users/{name}/{change}": {"adam"},
    "/account/password": EVERYONE,
}


def concrete(site: Site, template: str) -> str:
    s = site.seeded
    return (
        template.replace("{run_id}", s.run_id)
        .replace("{item_id}", str(s.review2_id))
        .replace("{relative:path}", s.evidence_png)
        .replace("{batch_id}/{decision}", "999/approve")
        .replace("{schedule_id}/{action}", "nightly/pause")
        .replace("{schedule_id}/run-now", "nightly-counting/run-now")
        .replace("{name}/{change}", "oscar/roles")
        .replace("{name}/disable", "oscar/disable")
    )


def test_every_route_is_in_the_access_tables():
    routes = {
        (method, route.path)
        for module in ROUTERS
        for route in module.router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    assert {p for m, p in routes if m == "GET"} == set(PAGES)
    assert {p for m, p in routes if m == "POST"} == set(FORMS)


@pytest.mark.parametrize("name", sorted(EVERYONE))
def test_each_role_opens_exactly_its_pages(site: Site, name: str):
    client = site.sign_in(name)
    for template, allowed in PAGES.items():
        if template == "/sign-in":
            continue
        response = client.get(concrete(site, template))
        if name in allowed:
            assert response.status_code == 200, (name, template)
        elif template == "/" and name == "adam":
            assert response.headers["location"] == "/admin/users"
        else:
            assert response.status_code == 403, (name, template)
            assert "You cannot do that" in response.text


@pytest.mark.parametrize(
    ("name", "shown", "hidden"),
    [
        ("olivia", ["Runs", "Approvals", "Schedules"], ["Audit trail", "Users"]),
        ("audrey", ["Runs", "Audit trail"], ["Users"]),
        ("adam", ["Users"], ["Runs", "Audit trail", "Approvals"]),
    ],
)
def test_navigation_shows_only_what_the_role_may_open(site, name, shown, hidden):
    client = site.sign_in(name)
    page = client.get("/account/password").text
    nav = page.split('id="navigation"', 1)[1].split("</ul>", 1)[0]
    for text in shown:
        assert f">{text}<" in nav or f"{text}\n" in nav or text in nav
    for text in hidden:
        assert text not in nav


def test_an_auditor_cannot_retry_even_with_a_valid_form(site: Site):
    client = site.sign_in("audrey")
    item = site.seeded.failed_id
    token = csrf_of(client.get(f"/items/{item}").text)
    assert "Retry item" not in client.get(f"/items/{item}").text  # no button either
    response = client.post(f"/items/{item}/retry", data={"csrf_token": token, "reason": "x"})
    assert response.status_code == 403
    assert site.dash.runtime.ledger.items.get(item).state is ItemState.FAILED
    admin = site.sign_in("adam")
    token = csrf_of(admin.get("/account/password").text)
    assert admin.post(f"/items/{item}/retry", data={"csrf_token": token}).status_code == 403


def test_every_form_without_its_csrf_token_is_refused(site: Site):
    sessions = {name: site.sign_in(name) for name in EVERYONE}
    for template, allowed in FORMS.items():
        path = concrete(site, template)
        if template == "/sign-in":
            response = site.client().post(path, data={"name": "olivia", "password": "x" * 20})
        else:
            who = sorted(allowed)[0]
            response = sessions[who].post(path, data={"reason": "no token", "csrf_token": ""})
        assert response.status_code == 403, template
        assert "The form could not be accepted" in response.text
    wrong = sessions["olivia"].post(
        f"/items/{site.seeded.failed_id}/retry", data={"csrf_token": "forged" * 8}
    )
    assert wrong.status_code == 403
    assert site.dash.runtime.ledger.items.get(site.seeded.failed_id).state is ItemState.FAILED


def test_anonymous_requests_go_to_sign_in(site: Site):
    client = site.client()
    for template in PAGES:
        if template == "/sign-in":
            continue
        response = client.get(concrete(site, template))
        assert response.status_code == 303
        assert response.headers["location"].startswith("/sign-in")
    for template in FORMS:
        if template != "/sign-in":
            response = client.post(concrete(site, template), data={"csrf_token": "x"})
            assert (response.status_code, response.headers["location"]) == (303, "/sign-in")


def test_sign_in_returns_only_to_local_pages(site: Site):
    client = site.client()
    response = post_form(
        client,
        "/sign-in",
        "/sign-in",
        name="olivia",
        password="correct horse battery",
        next="//evil.example/x",
    )
    assert response.headers["location"] == "/"
    client = site.client()
    response = post_form(
        client,
        "/sign-in",
        "/sign-in",
        name="olivia",
        password="correct horse battery",
        next=f"/runs/{site.seeded.run_id}",
    )
    assert response.headers["location"] == f"/runs/{site.seeded.run_id}"


def test_sessions_expire_when_idle(site: Site, clock):
    client = site.sign_in("olivia")
    assert client.get("/runs").status_code == 200
    clock.advance(minutes=29)
    assert client.get("/runs").status_code == 200
    clock.advance(minutes=29)
    assert client.get("/runs").status_code == 200  # each visit keeps it alive
    clock.advance(minutes=31)
    response = client.get("/runs")
    assert (response.status_code, response.headers["location"]) == (303, "/sign-in?next=/runs")


def test_sign_in_is_slowed_after_failures_and_audited(site: Site, clock):
    client = site.client()
    for _ in range(5):
        response = post_form(client, "/sign-in", "/sign-in", name="oscar", password="wrong " * 3)
        assert response.status_code == 401
        assert "Enter a correct account name and password" in response.text
    right = post_form(
        client, "/sign-in", "/sign-in", name="oscar", password="correct horse battery"
    )
    assert right.status_code == 429
    assert "too many failed sign-ins to this account. Wait 1 second, then sign in" in right.text
    records = [r for r in site.audit() if r["action"] == "dashboard.sign_in"]
    assert [r["outcome"] for r in records[-6:]] == ["failed"] * 5 + ["throttled"]
    assert {r["actor"] for r in records[-6:]} == {"user:oscar"}
    clock.advance(seconds=1)
    again = post_form(
        client, "/sign-in", "/sign-in", name="oscar", password="correct horse battery"
    )
    assert again.status_code == 303


def test_unknown_account_names_are_not_written_to_the_trail(site: Site):
    client = site.client()
    post_form(client, "/sign-in", "/sign-in", name="zoe.private@example.org", password="x" * 12)
    last = [r for r in site.audit() if r["action"] == "dashboard.sign_in"][-1]
    assert last["actor"] == "user:anonymous" and last["outcome"] == "failed"
    assert "zoe.private" not in (site.dash.runtime.paths.audit / "audit.jsonl").read_text()


@pytest.mark.parametrize(
    "path",
    [
        "/evidence/{}/..%2F..%2Faudit%2Faudit.jsonl",
        "/evidence/{}/%2e%2e/%2e%2e/audit/audit.jsonl",
        "/evidence/{}//etc/passwd",
        "/evidence/{}/.hidden",
        "/evidence/{}/..%2Fruns",
    ],
)
def test_evidence_paths_cannot_leave_the_evidence_folder(site: Site, path: str):
    client = site.sign_in("olivia")
    assert client.get(path.format("view")).status_code == 404
    token = csrf_of(client.get(f"/evidence/view/{site.seeded.evidence_png}").text)
    for kind in ("view", "file"):
        answer = client.post(path.format(kind), data={"csrf_token": token, "purpose": "x" * 20})
        assert answer.status_code == 404


def test_only_captured_files_open_and_a_symlink_in_place_of_one_is_refused(site: Site):
    evidence = site.dash.runtime.paths.evidence
    client = site.sign_in("olivia")
    token = csrf_of(client.get(f"/evidence/view/{site.seeded.evidence_png}").text)
    link = evidence / site.seeded.run_id / "escape.txt"
    link.symlink_to(site.dash.runtime.paths.audit / "audit.jsonl")
    shot = evidence / site.seeded.evidence_png
    kept = shot.read_bytes()
    try:
        form = {"csrf_token": token, "purpose": "checking the escape"}
        assert client.get(f"/evidence/view/{site.seeded.run_id}/escape.txt").status_code == 404
        uncaptured = client.post(f"/evidence/file/{site.seeded.run_id}/escape.txt", data=form)
        assert uncaptured.status_code == 404
        shot.unlink()
        shot.symlink_to(site.dash.runtime.paths.audit / "audit.jsonl")
        refused = client.post(f"/evidence/file/{site.seeded.evidence_png}", data=form)
        assert refused.status_code == 400 and "not there any more" in refused.text
    finally:
        link.unlink()
        shot.unlink()
        shot.write_bytes(kept)


def test_evidence_opens_only_with_a_purpose_after_the_view_is_recorded(site: Site):
    client = site.sign_in("olivia")
    png = site.seeded.evidence_png
    page = client.get(f"/evidence/view/{png}")
    assert "MATCHES THE TRAIL" in page.text and "data:image/png" not in page.text
    token = csrf_of(page.text)
    unsaid = client.post(f"/evidence/view/{png}", data={"csrf_token": token, "purpose": " "})
    assert unsaid.status_code == 400 and "say why" in unsaid.text
    assert not [r for r in site.audit() if r["action"] == "evidence.viewed"]
    why = {"csrf_token": token, "purpose": "item failed after submit: what did the app show?"}
    shown = client.post(f"/evidence/view/{png}", data=why)
    assert shown.status_code == 200 and 'src="data:image/png;base64,' in shown.text
    html_path = png.rsplit("/", 1)[0] + "/page.html"
    html = client.post(f"/evidence/file/{html_path}", data=why)
    assert html.headers["content-type"] == "application/octet-stream"
    assert html.headers["content-disposition"].startswith("attachment")
    assert "sandbox" in html.headers["content-security-policy"]
    assert html.content == b"<script>alert(1)</script><p>page</p>"  # as captured
    records = site.audit()
    viewed = [r for r in records if r["action"] in ("evidence.viewed", "evidence.exported")]
    assert [(r["action"], r["actor"], r["detail"]["path"]) for r in viewed] == [
        ("evidence.viewed", "user:olivia", f"evidence/{png}"),
        ("evidence.exported", "user:olivia", f"evidence/{html_path}"),
    ]
    assert viewed[0]["detail"]["purpose"] == why["purpose"]


def test_an_auditor_checks_evidence_but_cannot_open_it(site: Site):
    client = site.sign_in("audrey")
    png = site.seeded.evidence_png
    page = client.get(f"/evidence/view/{png}")
    assert page.status_code == 200 and "MATCHES THE TRAIL" in page.text
    assert "only operator accounts can open it" in page.text
    token = csrf_of(page.text)
    why = {"csrf_token": token, "purpose": "I would like to see it"}
    assert client.post(f"/evidence/view/{png}", data=why).status_code == 403
    assert client.post(f"/evidence/file/{png}", data=why).status_code == 403
    opened = [r for r in site.audit() if r["action"] in ("evidence.viewed", "evidence.exported")]
    assert not [r for r in opened if r["actor"] == "user:audrey"]
    denied = [r for r in site.audit() if r["action"] == "dashboard.denied"]
    assert denied[-1]["actor"] == "user:audrey"


def test_pages_carry_security_headers(site: Site):
    response = site.client().get("/sign-in")
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self' 'nonce-" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
