"""The drift check of a web app: visit each declared screen, test each locator, and for the
ones that no longer find exactly one element, rank what is on the screen instead.

Candidates are compared with what the element looked like the last time it matched (its
role, accessible name, id and name, link target, kind and place among its kind), as the
baseline stored by earlier checks holds it; without a baseline, with what the declaration
itself says (the element's name, the id or role in its locator). Each broken locator gets
its own candidate (best pairs first), and a proposed locator is only offered once
Playwright has confirmed it finds exactly that element.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from borough.drift.report import Candidate, Finding, element_path, not_visited, unreached
from borough.drift.screens import ScreenDecl
from borough.drift.similar import similarity
from connectors.web import screens as web_screens
from connectors.web.screens import Reach, css_ident, find, parse_reach, role_locator

if TYPE_CHECKING:
    from playwright.sync_api import Frame, Page

    from connectors.web.session import WebSession

Baseline = Mapping[tuple[str, str], dict[str, Any]]
WEIGHTS = {"role": 0.2, "name": 0.35, "id": 0.2, "href": 0.15, "kind": 0.05, "index": 0.05}
LISTED = 3
NO_BASELINE = "; never seen matching: candidates compared with the declaration only"

_DESCRIBE = (Path(__file__).parent / "describe.js").read_text(encoding="utf-8")
ONE = "(el) => {" + _DESCRIBE + "return describe(el, all()); }"
#: the inventory, and for each locator that is CSS: its count and the element it finds
LOOK = (
    "(locators) => {" + _DESCRIBE + "const everything = all();"
    " const css = locators.map((s) => { try { const found = document.querySelectorAll(s);"
    " return {count: found.length,"
    " seen: found.length === 1 ? describe(found[0], everything) : null}; }"
    " catch (e) { return null; } });"
    " return {inventory: everything.map((el) => describe(el, everything)), css: css}; }"
)


def check(web: WebSession, baseline: Baseline) -> list[Finding]:
    """Findings for every element of every declared screen of ``web``'s app."""
    findings: list[Finding] = []
    for name, screen in web.settings.screens.items():
        findings += _check_screen(web, name, screen, baseline)
    if web.settings.screens:
        web.run("drift check", lambda: _start_page(web))  # where the bot expects to be
    return findings


def _start_page(web: WebSession) -> None:
    """The start page (a frameset has no footer of its own: only its status is checked)."""
    from borough.errors import TransientError
    from connectors.web import checks

    response = web.page.goto(web.settings.url(web.settings.start_path), wait_until="load")
    if response is not None and response.status >= 500:
        raise TransientError(f"the app answered HTTP {response.status}", app=web.name)
    if checks.inspect(web.page, web.settings).login:
        raise checks.SessionExpired("the session ended (sign-in page shown)", app=web.name)


def _check_screen(
    web: WebSession, name: str, screen: ScreenDecl, baseline: Baseline
) -> list[Finding]:
    if not screen.visited:
        return not_visited(name, screen.elements, screen.reach)
    reach = parse_reach(screen.reach)
    try:
        return web.run("drift check", lambda: _look(web, name, screen, reach, baseline))
    except Exception as exc:
        error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return unreached(name, screen.elements, screen.reach, error)


def _look(
    web: WebSession, name: str, screen: ScreenDecl, reach: Reach, baseline: Baseline
) -> list[Finding]:
    where, close = _open(web, reach, name)
    try:
        locators = list(screen.elements.values())
        looked: dict[str, Any] = where.evaluate(LOOK, locators)  # one trip for CSS locators
        inventory: list[dict[str, Any]] = looked["inventory"]
        results: dict[str, Finding] = {}
        matched: set[str] = set()
        broken: list[tuple[str, str, int]] = []
        for (element, locator), css in zip(screen.elements.items(), looked["css"], strict=True):
            path = element_path(name, element)
            count, seen = (css["count"], css["seen"]) if css else _playwright(where, locator)
            if count == 1:
                matched.add(seen["path"])
                results[element] = Finding(
                    name, element, locator, "ok", path=path, fingerprint=seen
                )
            else:
                broken.append((element, locator, count))
        pool = [c for c in inventory if c["path"] not in matched]
        for element, locator, candidates in _rank(name, broken, pool, baseline):
            count = next(n for e, _, n in broken if e == element)
            results[element] = Finding(
                name,
                element,
                locator,
                "missing" if count == 0 else "ambiguous",
                detail=("matches nothing" if count == 0 else f"matches {count} elements")
                + ("" if (name, element) in baseline else NO_BASELINE),
                candidates=tuple(_proposals(where, locator, candidates)),
                path=element_path(name, element),
            )
        return [results[element] for element in screen.elements]
    finally:
        close()


def _playwright(where: Page | Frame, locator: str) -> tuple[int, dict[str, Any]]:
    """How many elements a non-CSS locator finds, and the one it finds (role=, label=...)."""
    found = find(where, locator)
    count = found.count()
    return count, found.evaluate(ONE) if count == 1 else {}


def _open(web: WebSession, reach: Reach, screen: str) -> tuple[Page | Frame, Callable[[], None]]:
    step = f"drift check: {screen}"
    if reach.window:
        window = web.page.context.new_page()
        try:
            web.goto(reach.path, window, step=step)
        except BaseException:
            window.close()
            raise
        return window, window.close
    if reach.frame is None:
        web.goto(reach.path, step=step)
        return web.page, lambda: None
    _start_page(web)
    frame = web.frame(reach.frame)
    web.goto(reach.path, frame, step=step)
    return frame, lambda: None


def _rank(
    screen: str,
    broken: list[tuple[str, str, int]],
    pool: list[dict[str, Any]],
    baseline: Baseline,
) -> list[tuple[str, str, list[tuple[float, dict[str, Any]]]]]:
    """Per broken element, candidates best first; the first is its own (best pairs first)."""
    scored = {}
    for element, locator, _ in broken:
        old = baseline.get((screen, element)) or guess(element, locator)
        scored[element] = sorted(((score(old, c), c) for c in pool), key=lambda pair: -pair[0])
    pairs = sorted(
        ((s, element, c["path"]) for element, ranked in scored.items() for s, c in ranked),
        key=lambda triple: -triple[0],
    )
    own: dict[str, str] = {}
    taken: set[str] = set()
    for _, element, path in pairs:
        if element not in own and path not in taken:
            own[element] = path
            taken.add(path)
    out = []
    for element, locator, _ in broken:
        ranked = scored[element]
        first = [pair for pair in ranked if pair[1]["path"] == own.get(element)]
        others = [pair for pair in ranked if pair[1]["path"] not in taken]
        out.append((element, locator, (first + others)[:LISTED]))
    return out


#: id prefixes of the WebForms era and the role they name (txtSurname is a textbox)
ROLE_PREFIXES = {
    "txt": "textbox",
    "btn": "button",
    "lnk": "link",
    "hl": "link",
    "ddl": "combobox",
    "lst": "listbox",
    "chk": "checkbox",
    "rb": "radio",
    "gv": "table",
    "tbl": "table",
    "lbl": "generic",
}
#: scores against a guess (no baseline) count for less: the declaration says little
GUESS_WEIGHT = 0.85


def guess(element: str, locator: str) -> dict[str, Any]:
    """What the declaration alone says an element looks like (no baseline yet)."""
    found: dict[str, Any] = {"name": element, "guess": True}
    if locator.startswith("#") and css_ident(locator[1:]):
        found["id"] = locator[1:]
        prefix = re.match(r"^([a-z]+)[A-Z]", locator[1:])
        if prefix and prefix[1] in ROLE_PREFIXES:
            found["role"] = ROLE_PREFIXES[prefix[1]]
    role = re.match(r'^role=(\w+)(?:\[name="(.*?)"s?\])?', locator)
    if role:
        found["role"], found["name"] = role[1], role[2] or element
    if locator.startswith(web_screens.LABEL):
        found["name"] = locator[len(web_screens.LABEL) :].strip("\"'")
    return found


def score(old: Mapping[str, Any], new: Mapping[str, Any]) -> float:
    """How much ``new`` resembles ``old`` (0..1), over what ``old`` tells."""
    total = got = 0.0

    def add(weight_of: str, value: float) -> None:
        nonlocal total, got
        total += WEIGHTS[weight_of]
        got += WEIGHTS[weight_of] * value

    if old.get("role"):
        add("role", 1.0 if old["role"] == new.get("role") else 0.0)
    if old.get("name"):
        add("name", similarity(old["name"], new.get("name") or new.get("text") or ""))
    names = [v for v in (old.get("id"), old.get("name_attr")) if v]
    if names:
        theirs = [v for v in (new.get("id"), new.get("name_attr")) if v] or [""]
        add("id", max(similarity(a, b) for a in names for b in theirs))
    if old.get("href"):
        add("href", 1.0 if old["href"] == new.get("href") else 0.0)
    if old.get("tag"):
        add("kind", 1.0 if (old["tag"], old.get("type")) == (new["tag"], new.get("type")) else 0.0)
    if old.get("index") is not None and old.get("index", -1) >= 0:
        add("index", 1 - min(abs(old["index"] - new.get("index", 0)), 5) / 5)
    result = got / total if total else 0.0
    if old.get("role") and new.get("role") != old["role"]:
        result *= 0.5
    return result * GUESS_WEIGHT if old.get("guess") else result


def _proposals(
    where: Page | Frame, old: str, ranked: list[tuple[float, dict[str, Any]]]
) -> list[Candidate]:
    out = []
    for value, candidate in ranked:
        locator = _locator_for(where, old, candidate)
        if locator is not None:
            out.append(Candidate(locator, value, _about(candidate)))
    return out


def _locator_for(where: Page | Frame, old: str, candidate: dict[str, Any]) -> str | None:
    """A locator that finds exactly ``candidate``, in the style of ``old`` where possible."""
    options = []
    if candidate["id"] and css_ident(candidate["id"]):
        options.append(f"#{candidate['id']}")
    if candidate["name"] and candidate["role"] != "generic":
        options.append(role_locator(candidate["role"], candidate["name"]))
        if candidate["role"] in ("textbox", "combobox", "listbox", "checkbox", "radio"):
            options.append(web_screens.LABEL + candidate["name"])
    if old.startswith(("role=", web_screens.LABEL)):
        options.sort(key=lambda option: not option.startswith(old[:5]))
    for option in options:
        try:
            found = find(where, option)
            if found.count() == 1 and found.evaluate(ONE)["path"] == candidate["path"]:
                return option
        except Exception:  # an option Playwright cannot parse is just not offered
            continue
    return None


def _about(candidate: dict[str, Any]) -> str:
    text = f'{candidate["role"]} "{candidate["name"] or candidate["text"]}"'
    return text + (f" (id {candidate['id']})" if candidate["id"] else "")
