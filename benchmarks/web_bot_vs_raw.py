"""The same notifications keyed into Caseflow by a raw Playwright script and by the bot.

Run on demand (not a test)::

    .venv/bin/python benchmarks/web_bot_vs_raw.py [--items 200] [--rounds 1]

Both drive the same screens the same way (one search window kept open, new-case form, save,
read the reference) against a fresh sandbox in its own process; the raw script has no
ledger, audit trail, page checks, retries, trace or evidence. Rounds alternate raw and bot
and the best of each is compared, because other work on the machine adds noise.
Target: bot <= 1.10 x raw.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from borough.ledger import ItemState  # noqa: E402
from borough.runner import RunRequest, run_bot  # noqa: E402
from borough.testing import runtime_in  # noqa: E402
from sandbox.web import SandboxConfig, read_counts, serve_in_subprocess  # noqa: E402
from sandbox.web.data import Notification, notifications  # noqa: E402
from tests.support.web import PASSWORD, USER, web_home  # noqa: E402

CODES = {"NEW": "N", "CHANGE": "C", "END": "E"}


def raw_script(url: str, rows: list[Notification]) -> list[str]:
    """What a developer would write without borough: straight Playwright, no safety net."""
    from playwright.sync_api import sync_playwright

    references = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(url + "/login")
        page.fill("#txtUser", USER)
        page.fill("#txtPwd", PASSWORD)
        with page.expect_navigation():
            page.click("#btnLogin")
        page.wait_for_load_state("load")
        nav, content = page.frame(name="nav"), page.frame(name="content")
        assert nav is not None and content is not None
        with page.expect_popup() as info:  # the search window stays open, as in the bot
            nav.locator("#lnkSearch").click()
        window = info.value
        window.wait_for_load_state("load")
        for item in rows:
            row = item.row
            window.locator("#txtSearchClaim").fill(row["Claim Ref"])
            with window.expect_navigation():
                window.locator("#btnSearch").click()
            if window.locator("#noResults").count() == 0:
                window.locator("#gvResults").evaluate(
                    "t => Array.from(t.rows).map(r => Array.from(r.cells).map(c => c.innerText))"
                )
            with content.expect_navigation():
                nav.locator("#lnkNewCase").click()
            content.locator("#txtClaimRef").fill(row["Claim Ref"])
            content.locator("#txtCtAcc").fill(row["Council Tax Account"])
            content.locator("#txtSurname").fill(row["Surname"])
            content.locator("#txtForenames").fill(row["Forenames"])
            content.locator("#txtNino").fill(row["NI Number"].replace(" ", ""))
            content.locator("#ddlChangeType").select_option(CODES[row["Change Type"]])
            content.locator("#txtEffDate").fill(row["Effective From"])
            content.locator("#txtWeekly").fill(row["Weekly CTR"].replace("£", ""))
            content.locator("#txtPostcode").fill(row["Postcode"])
            content.locator("#txtNotes").fill(f"Notification {item.key} (raw)")
            with content.expect_navigation():
                content.locator("#btnSave").click()
            references.append(content.locator("#lblCaseRef").inner_text())
        context.close()
        browser.close()
    return references


def bot_run(home: Path, rows: list[Notification]) -> list[str]:
    """The bot, from opening the runtime (unlocking secrets) to the end of the run."""
    with runtime_in(home) as runtime:
        run = run_bot(runtime, RunRequest("change-of-circumstances"))
        done = runtime.ledger.items.list(
            bot="change-of-circumstances", states=[ItemState.DONE], limit=len(rows) + 1
        )
    if run.counts.done != len(rows):
        raise SystemExit(f"bot run did not finish every item: {run.counts}")
    return [item.reference or "" for item in done]


def timed(label: str, rows: list[Notification], folder: Path, trace: str) -> float:
    store = folder / f"{label}.sqlite"
    with serve_in_subprocess(SandboxConfig(store=store, users={USER: PASSWORD})) as app:
        if label == "raw":
            started = time.perf_counter()
            references = raw_script(app.url, rows)
        else:
            # config and secret are set up before the clock starts
            home = web_home(folder / "home", app.url, rows, app={"trace": trace})
            started = time.perf_counter()
            references = bot_run(home, rows)
        elapsed = time.perf_counter() - started
    cases = read_counts(store)["cases"]
    if len(references) != len(rows) or cases != len(rows):
        raise SystemExit(f"{label}: {len(references)} references, {cases} cases for {len(rows)}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=1, help="alternate raw/bot this often")
    parser.add_argument("--trace", choices=["off", "actions", "full"], default="actions")
    args = parser.parse_args()
    rows = notifications(args.items, seed=11)
    results: dict[str, list[float]] = {"raw": [], "bot": []}
    for round_no in range(args.rounds):
        for label in ("raw", "bot"):
            with tempfile.TemporaryDirectory(prefix=f"bench-{label}-") as tmp:
                seconds = timed(label, rows, Path(tmp), args.trace)
            results[label].append(seconds)
            print(f"round {round_no + 1} {label}: {seconds:7.2f} s "
                  f"({seconds / args.items * 1000:.0f} ms/item)", flush=True)  # fmt: skip
    raw, bot = min(results["raw"]), min(results["bot"])
    paired = sorted(b / r for r, b in zip(results["raw"], results["bot"], strict=True))
    median = (
        paired[len(paired) // 2]
        if len(paired) % 2
        else sum(paired[len(paired) // 2 - 1 : len(paired) // 2 + 1]) / 2
    )
    print(f"\n{args.items} items  best raw {raw:.2f} s  best bot {bot:.2f} s  "
          f"ratio {bot / raw:.3f}  (target <= 1.10)")  # fmt: skip
    print("per-round ratios " + " ".join(f"{r:.3f}" for r in paired) + f"  median {median:.3f}")


if __name__ == "__main__":
    main()
