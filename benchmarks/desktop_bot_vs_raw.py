"""Desktop bot vs a raw pyautogui script on the same 50 records: wall-time ratio.

    .venv/bin/python benchmarks/desktop_bot_vs_raw.py [--records 50] [--rounds 1]

Both enter the same records into a fresh sandbox revenues client on one Xvfb, with no
injected faults, from starting the client to closing it. The raw script is what one would
write by hand with pyautogui, pyperclip and xclip for the same work: keyboard accelerators,
paste through the clipboard, read every field back (after pasting and again before saving),
save, read the reference from the pop-up. It waits for the same things the connector waits
for, or it loses keystrokes. It has no ledger, audit trail, evidence, recovery or retries:
that is what the ratio prices. A second ratio, against the same script without read-back,
shows what verification itself costs. Target: bot / raw <= 1.15.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from borough.runner import RunRequest, run_bot  # noqa: E402
from borough.testing import runtime_in  # noqa: E402
from tests.support.casework import (  # noqa: E402
    BOT,
    SANDBOX_PASSWORD,
    app_command,
    app_records,
    casework_rows,
    desktop_home,
)

MAIN, SIGN_IN = "Revenues Client", "Revenues Client - Sign in"
FORM, SAVED = "New CTR change", "Change saved"
KEYS = ["alt+c", "alt+l", "alt+t", "alt+u", "alt+f", "alt+n", "alt+h", "alt+e", "alt+p", None]
COLUMNS = [
    "Case Reference", "Claim Reference", "Council Tax Account", "Surname", "Forenames",
    "NI Number", "Change Type", "Effective Date", "Postcode", "Weekly Amount",
]  # fmt: skip
WEEKLY_LABEL = ROOT / "borough_examples/screens/images/revenues_client/weekly_amount_label.png"


class Raw:
    """The hand-written script: pyautogui keys, xclip in, pyperclip out, Xlib to watch."""

    def __init__(self, display: str) -> None:
        os.environ.setdefault("XDG_SESSION_TYPE", "x11")  # else pyscreeze cannot screenshot
        import pyautogui
        import pyperclip
        from Xlib import X
        from Xlib.display import Display

        self.gui, self.clip, self.X = pyautogui, pyperclip, X
        pyautogui.FAILSAFE, pyautogui.PAUSE = False, 0
        pyperclip.set_clipboard("xclip")
        self.d = Display(display)
        self.root = self.d.screen().root
        self.atoms = {n: self.d.intern_atom(n) for n in ("_NET_ACTIVE_WINDOW", "CLIPBOARD")}
        self.weekly: tuple[int, int] | None = None

    def active(self) -> str | None:
        prop = self.root.get_full_property(self.atoms["_NET_ACTIVE_WINDOW"], self.X.AnyPropertyType)
        if not prop or not prop.value[0]:
            return None
        from Xlib.error import XError

        try:  # the window may be closing while we ask
            name = self.d.create_resource_object("window", prop.value[0]).get_wm_name()
        except XError:
            return None
        return name.decode() if isinstance(name, bytes) else name

    def wait(self, title: str) -> None:
        deadline = time.monotonic() + 10
        while self.active() != title:
            assert time.monotonic() < deadline, f"no {title}"
            time.sleep(0.005)

    def owner(self) -> int:
        owner = self.d.get_selection_owner(self.atoms["CLIPBOARD"])
        return int(getattr(owner, "id", owner) or 0)

    def keys(self, chord: str) -> None:
        if "+" in chord[1:]:
            self.gui.hotkey(*chord.split("+"))
        else:
            self.gui.press(chord)

    def paste(self, text: str, wait: float = 5.0) -> bool:
        """True once the app has fetched ``text``; False if it did not within ``wait``."""
        before = self.owner()
        xclip = subprocess.Popen(
            ["xclip", "-loops", "1", "-selection", "clipboard", "-quiet", "-i"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert xclip.stdin is not None
        xclip.stdin.write(text.encode())
        xclip.stdin.close()
        while self.owner() in (before, 0):
            time.sleep(0.001)
        self.keys("ctrl+v")
        try:
            xclip.wait(wait)
        except subprocess.TimeoutExpired:
            xclip.kill()
            xclip.wait()
            return False
        return True

    def copy(self, *chords: str) -> str:
        holder = None
        if self.owner():
            holder = self.root.create_window(0, 0, 1, 1, 0, self.X.CopyFromParent)
            holder.set_selection_owner(self.atoms["CLIPBOARD"], self.X.CurrentTime)
            self.d.sync()
        before = self.owner()
        for chord in chords:
            self.keys(chord)
        deadline = time.monotonic() + 5
        while self.owner() in (before, 0):
            assert time.monotonic() < deadline, "nothing copied"
            time.sleep(0.001)
        if holder is not None:
            holder.destroy()
        return str(self.clip.paste())

    def focus(self, key: str | None) -> None:
        if key is not None:
            self.keys(key)
            return
        if self.weekly is None:  # the unlabelled field, found once beside its label
            box = self.gui.locate(str(WEEKLY_LABEL), self.gui.screenshot(), confidence=0.9)
            self.weekly = (int(box.left) + 212, int(box.top) + 9)
        self.gui.click(*self.weekly)
        while self.root.query_pointer().mask & self.X.Button1Mask:
            time.sleep(0.002)

    def enter(self, row: dict[str, str], verify: bool) -> str:
        self.keys("ctrl+n")
        self.wait(FORM)
        values = [row[c] for c in COLUMNS]
        for key, value in zip(KEYS, values, strict=True):
            for wait in (0.5, 5.0):  # Tk drops keys sent the moment a window opens
                self.focus(key)
                self.keys("ctrl+/")
                self.keys("delete")
                if self.paste(value, wait):
                    break
            if verify:
                assert self.copy("ctrl+/", "ctrl+c") == value
        if verify:
            for key, value in zip(KEYS, values, strict=True):
                self.focus(key)
                assert self.copy("ctrl+/", "ctrl+c") == value
        self.keys("alt+s")
        self.wait(SAVED)
        text = self.copy("ctrl+c")
        self.keys("enter")
        self.wait(MAIN)
        return text.split()[-1].rstrip(".")


def run_raw(rows: list[dict[str, str]], display: str, verify: bool) -> float:
    folder = Path(tempfile.mkdtemp(prefix="raw-desktop-"))
    start = time.perf_counter()
    client = subprocess.Popen(
        [sys.executable, "-m", "sandbox.desktop", "--db", str(folder / "client.sqlite")],
        env={**os.environ, "DISPLAY": display, "PYTHONPATH": str(ROOT)},
    )
    try:
        raw = Raw(display)
        raw.wait(SIGN_IN)
        raw.paste("robot")
        raw.keys("tab")
        raw.paste(SANDBOX_PASSWORD)
        raw.keys("enter")
        raw.wait(MAIN)
        references = [raw.enter(row, verify) for row in rows]
        raw.d.close()
    finally:
        client.terminate()
        client.wait(10)
        elapsed = time.perf_counter() - start
        shutil.rmtree(folder, ignore_errors=True)
    assert len(set(references)) == len(rows), references
    return elapsed


def run_borough(rows: list[dict[str, str]]) -> float:
    folder = Path(tempfile.mkdtemp(prefix="bot-desktop-"))
    try:
        home = desktop_home(folder / "home", rows, command=app_command())
        with runtime_in(home) as runtime:
            start = time.perf_counter()
            record = run_bot(runtime, RunRequest(BOT, trigger="benchmark"))
            elapsed = time.perf_counter() - start
        assert record.counts.done == len(rows), (record.status, record.counts, record.error)
        assert len(app_records(home)) == len(rows)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--records", type=int, default=50)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="pairs of runs, alternating which goes first; the machine's load drifts, so "
        "each pair's ratio is taken on its own and the median reported",
    )
    args = parser.parse_args()
    from connectors.desktop import virtual_display

    rows = casework_rows(args.records, seed=42)
    raw, bot, plain, ratios = [], [], [], []
    with virtual_display() as display:
        for round_ in range(args.rounds):
            if round_ % 2 == 0:
                raw.append(run_raw(rows, display, verify=True))
                bot.append(run_borough(rows))
            else:
                bot.append(run_borough(rows))
                raw.append(run_raw(rows, display, verify=True))
            ratios.append(bot[-1] / raw[-1])
            plain.append(run_raw(rows, display, verify=False))
            print(
                f"round {round_ + 1}: raw {raw[-1]:.2f} s, bot {bot[-1]:.2f} s, "
                f"ratio {ratios[-1]:.3f}; raw without read-back {plain[-1]:.2f} s"
            )
    r, b, p = statistics.median(raw), statistics.median(bot), statistics.median(plain)
    n = args.records
    print(f"records: {n}, rounds: {args.rounds} (medians), load average {os.getloadavg()[0]:.1f}")
    print(f"raw script, same work with read-back : {r:7.2f} s  ({r / n * 1000:.0f} ms/record)")
    print(f"borough bot                          : {b:7.2f} s  ({b / n * 1000:.0f} ms/record)")
    print(f"raw script, no read-back             : {p:7.2f} s  ({p / n * 1000:.0f} ms/record)")
    print(
        f"ratio bot / raw (same work)          : {statistics.median(ratios):.3f}  (target <= 1.15)"
    )
    print(f"ratio bot / raw without verification : {b / p:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
