"""Sign-in under attack, over real HTTP: throttling slows guessing but never keeps a right
password out longer than the documented delay; trusted proxies; devices; denials audited;
the password policy; error pages keep their security headers."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import httpx
import pytest
from starlette.requests import Request

from borough.config.models import DashboardSettings
from borough.dashboard.app import create_app
from borough.dashboard.security import client_address
from borough.dashboard.state import Dashboard
from borough.errors import DashboardError
from borough.ledger import ItemState
from tests.support.dashboard import FAST_HASHER, PASSWORD, Site, csrf_of, post_form, serving

MAX_DELAY = 30  # login_max_delay_seconds: the documented bound
PROXY = ["127.0.0.1/32"]  # the tests' client reaches the server from loopback, as a proxy would
_WAIT = re.compile(r"Wait (\d+) seconds?, then sign in again")


@pytest.fixture
def proxied(site: Site) -> Iterator[tuple[Dashboard, str]]:
    """The site's installation behind a trusted reverse proxy (X-Forwarded-For believed)."""
    settings = DashboardSettings(trusted_proxies=PROXY, login_max_delay_seconds=MAX_DELAY)
    dash = Dashboard.open(
        site.dash.runtime, settings=settings, hasher=FAST_HASHER, clock=site.clock
    )
    with serving(create_app(dash)) as url:
        yield dash, url


def browser(site: Site, url: str, address: str) -> httpx.Client:
    """A client whose requests reach the dashboard from ``address`` through the proxy."""
    client = site.client()
    client.base_url = url
    client.headers["X-Forwarded-For"] = address
    csrf_of(client.get("/sign-in").text)  # the sign-in form's token, kept in its cookie
    return client


def attempt(client: httpx.Client, name: str, password: str) -> httpx.Response:
    token = client.cookies.get("borough_signin", path="/sign-in") or csrf_of(
        client.get("/sign-in").text
    )
    return client.post("/sign-in", data={"csrf_token": token, "name": name, "password": password})


def held_seconds(response: httpx.Response) -> int:
    assert response.status_code == 429, response.status_code
    found = _WAIT.search(response.text)
    assert found, "no wait in the page"
    return int(found.group(1))


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_flood_of_random_names_never_keeps_a_right_password_out_for_long(
    site: Site, proxied, clock
):
    _, url = proxied
    flooder = browser(site, url, "203.0.113.7")
    checked = 0
    for round_number, account in enumerate(["olivia", "oscar", "audrey", "adam"]):
        for _ in range(210):  # with the 40 below, 1,000 attempts, each with a new made-up name
            response = attempt(flooder, f"guess-{secrets.token_hex(6)}", "not the password")
            assert response.status_code in (401, 429)
            checked += response.status_code == 401
        colleague = browser(site, url, "203.0.113.7")  # same office, same shared address
        first = attempt(colleague, account, PASSWORD)
        waited = 0
        if first.status_code == 429:
            waited = held_seconds(first)
            assert waited <= MAX_DELAY
            for _ in range(40):  # the flood goes on while they wait
                attempt(flooder, f"guess-{secrets.token_hex(6)}", "not the password")
            clock.advance(seconds=waited)
            first = attempt(colleague, account, PASSWORD)
        assert first.status_code == 303, (round_number, account, waited)
        assert waited > 0  # the address was paced (20 failures), and still let them in
    assert checked == 20  # only 4 x 5 guesses were ever checked; the rest were held
    elsewhere = browser(site, url, "198.51.100.9")  # another address is not slowed at all
    assert attempt(elsewhere, "oscar", PASSWORD).status_code == 303
    held = [
        r
        for r in site.audit()
        if r["action"] == "dashboard.sign_in" and r["outcome"] == "throttled"
    ]
    assert held and {r["detail"]["rule"] for r in held} == {"address"}
    assert {r["actor"] for r in held} <= {"user:anonymous"} | {
        f"user:{n}" for n in ("olivia", "oscar", "audrey", "adam")
    }
    assert "guess-" not in (site.dash.runtime.paths.audit / "audit.jsonl").read_text("utf-8")


def test_an_account_under_attack_is_slowed_not_locked_and_its_owners_browser_gets_in(
    site: Site, proxied, clock
):
    _, url = proxied
    owner = browser(site, url, "198.51.100.20")
    assert attempt(owner, "olivia", PASSWORD).status_code == 303  # gets a device token
    attacker = browser(site, url, "192.0.2.66")
    waits = []
    for _ in range(12):
        response = attempt(attacker, "olivia", "guess guess guess")
        if response.status_code == 429:
            waits.append(held_seconds(response))
            clock.advance(seconds=waits[-1])
            response = attempt(attacker, "olivia", "guess guess guess")
        assert response.status_code == 401
    assert max(waits) <= MAX_DELAY and waits == sorted(waits)
    new_browser = browser(site, url, "198.51.100.20")  # no device token: slowed, briefly
    assert held_seconds(attempt(new_browser, "olivia", PASSWORD)) <= MAX_DELAY
    owner.cookies.delete("borough_session")
    assert attempt(owner, "olivia", PASSWORD).status_code == 303  # the usual browser: at once
    refused = [r for r in site.audit() if r["action"] == "dashboard.sign_in"][-2]
    assert (refused["outcome"], refused["actor"]) == ("throttled", "user:olivia")
    assert refused["detail"]["rule"] == "account"


def test_sign_in_keeps_the_name_typed_and_says_what_is_wrong(site: Site):
    client = site.client()
    response = post_form(client, "/sign-in", "/sign-in", name="Oscar ", password="wrong " * 3)
    assert response.status_code == 401
    assert 'value="Oscar"' in response.text and "wrong wrong" not in response.text
    assert "<title>Error: Sign in" in response.text


def scope_request(peer: str, forwarded: list[str], trusted: list[str], site: Site) -> Request:
    dash = Dashboard.open(
        site.dash.runtime, settings=DashboardSettings(trusted_proxies=trusted), hasher=FAST_HASHER
    )

    class App:
        class state:
            dashboard = dash

    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    scope = {"type": "http", "client": (peer, 5000), "headers": headers, "app": App}
    return Request(scope)


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        ("10.0.0.5", ["203.0.113.7"], [], "10.0.0.5"),  # no proxies trusted: header ignored
        ("192.0.2.1", ["203.0.113.7"], ["10.0.0.0/8"], "192.0.2.1"),  # not from the proxy
        ("10.0.0.5", ["203.0.113.7"], ["10.0.0.0/8"], "203.0.113.7"),
        ("10.0.0.5", ["1.2.3.4, 203.0.113.7, 10.0.0.9"], ["10.0.0.0/8"], "203.0.113.7"),
        ("10.0.0.5", ["1.2.3.4", "203.0.113.7"], ["10.0.0.0/8"], "203.0.113.7"),
        ("10.0.0.5", ["not-an-address"], ["10.0.0.0/8"], "not-an-address"),
        ("10.0.0.5", [], ["10.0.0.0/8"], "10.0.0.5"),
    ],
)
def test_the_client_address_honours_only_trusted_proxies(site, peer, forwarded, trusted, expected):
    assert client_address(scope_request(peer, forwarded, trusted, site)) == expected


def test_a_bad_trusted_proxy_setting_is_refused():
    with pytest.raises(ValueError, match=r"'10\.0\.0\.300' is not an IP address"):
        DashboardSettings(trusted_proxies=["10.0.0.300"])


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("password1234", "common passwords"),
        ("Football2024!!", "common passwords"),
        ("qwerty123456", "common passwords"),
        ("aaaaaaaaaaaaaaaa", "more than a few different characters"),
        ("nina-is-my-name", "must not contain the account name"),
        ("short", "at least 12 characters"),
    ],
)
def test_weak_passwords_are_refused(site: Site, password: str, why: str):
    with pytest.raises(DashboardError, match=why):
        site.dash.users.add("nina", password, ["operator"])
    admin = site.sign_in("adam")
    response = post_form(
        admin, "/admin/users", "/admin/users", name="nina", password=password, roles=["operator"]
    )
    assert response.status_code == 400 and why in response.text


def test_every_refusal_is_audited(site: Site):
    auditor = site.sign_in("audrey")
    token = csrf_of(auditor.get("/approvals").text)
    item = site.seeded.review2_id
    assert auditor.post(f"/items/{item}/retry", data={"csrf_token": token}).status_code == 403
    operator = site.sign_in("olivia")
    assert operator.post(f"/items/{item}/retry", data={"csrf_token": "x" * 40}).status_code == 403
    anonymous = site.client()
    assert anonymous.post("/sign-in", data={"name": "olivia"}).status_code == 403
    denied = [r for r in site.audit() if r["action"] == "dashboard.denied"][-3:]
    assert [(r["actor"], r["outcome"]) for r in denied] == [
        ("user:audrey", "forbidden"),
        ("user:olivia", "csrf"),
        ("user:anonymous", "csrf"),
    ]
    assert denied[0]["detail"] == {"method": "POST", "path": f"/items/{item}/retry"}
    assert site.dash.runtime.ledger.items.get(item).state is ItemState.NEEDS_REVIEW


def test_error_pages_carry_the_security_headers(site: Site, monkeypatch: pytest.MonkeyPatch):
    client = site.sign_in("olivia")
    huge = client.get("/items/99999999999999999999")
    assert huge.status_code == 404 and "Page not found" in huge.text
    assert "frame-ancestors 'none'" in huge.headers["content-security-policy"]

    def broken(item_id: int, **_: object) -> None:
        raise RuntimeError("the ledger went away")

    monkeypatch.setattr(site.dash.runtime.ledger.items, "get", broken)
    failed = client.get(f"/items/{site.seeded.failed_id}")
    assert failed.status_code == 500 and "Sorry, there is a problem" in failed.text
    assert "the ledger went away" not in failed.text
    for header in ("content-security-policy", "x-frame-options", "x-content-type-options"):
        assert header in failed.headers, header
    assert failed.headers["cache-control"] == "no-store"
