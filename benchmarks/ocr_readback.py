"""OCR read-back on the published revenues client: accuracy, false accepts, time per read.

    .venv/bin/python benchmarks/ocr_readback.py [--values 1000] [--seed 1] [--dump DIR]

Starts a virtual display and the pixels-only sandbox (the Tk client inside Xvnc, seen
through TigerVNC's viewer), signs in, and types generated values into the New CTR change
form, ten per form: every kind of field the client has (case and claim references, account
numbers, NI numbers, change types, postcodes, dates, £ amounts, surnames and forenames with
the accents of the names a UK council holds, some kept without them). Once the viewer
shows a form, each field is cut out as the connector cuts it and read three ways:

* **read back**: what the connector does (``Ocr.verify``); a value counts as read back
  when a reading equals it with at least the app's ``min_confidence``. Target >= 99.5 %.
* **false accepts**: the same check against a value the field does not show, one fault
  away (a key press lost, a ``?`` for a character the app could not store, an accent the
  app dropped, an OCR look-alike). Must be 0: a wrong value is never confirmed. Names are
  also checked against one accent swapped for another on the same letter (á for â),
  reported apart.
* **raw Tesseract**, the baseline in the same run: ``tesserocr.image_to_text`` of the same
  crop with Tesseract's defaults (English, automatic page layout), exact match.

A field whose reading disagrees is checked inside the session (its own clipboard): if the
typing lost a character, the field is read as it is and the typing error is counted apart.
Prints accuracy per kind and the median / 95th percentile time per read (OCR only).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from borough.connect import AppServices  # noqa: E402
from borough_examples.screens import revenues_client  # noqa: E402
from connectors.desktop import DesktopConnector, DesktopSettings, virtual_display  # noqa: E402
from connectors.desktop.ocr import tessdata_dir  # noqa: E402
from connectors.desktop.ocr_image import around_field, field_crop  # noqa: E402
from connectors.desktop.pixels import PixelSession  # noqa: E402
from tests.support.casework import (  # noqa: E402
    FORENAMES,
    NINO_PREFIXES,
    POSTCODES,
    SANDBOX_PASSWORD,
    SURNAMES,
)
from tests.support.published import PUBLISHED, published_command  # noqa: E402

#: more names of the kind a UK council holds (Latin script, with the accents the client
#: shows), beyond the test rows' own lists
MORE_SURNAMES = [
    "Wiśniewski", "Ødegaard", "Çelik", "Fauré", "Žižek", "Štěpánek", "Gruffudd", "Mac Giolla",
    "Åberg", "Ólafsdóttir", "Þórðarson", "Kałuża", "Ferreira-Gonçalves", "D'Arcy", "Ní Dhomhnaill",
    "Błaszczyk", "Nowák", "Søndergaard", "Ibáñez", "Lévêque", "Zając", "Özdemir", "Yılmaz",
    "Ekström", "Pérez", "Holmén", "Dąbrowski", "Ó Dónaill", "St. John", "Ünal",
]  # fmt: skip
MORE_FORENAMES = [
    "Åsa", "Björn", "Ægir", "Łucja", "Małgorzata", "Ciarán", "Eoghan", "Niamh", "Tomás",
    "Søren", "Jürgen", "Inés", "Hélène", "Zoltán", "Andrés", "Dagný", "Sigurður", "Ðuro",
    "Ayşe", "Çağla", "Frañçois", "Saoirse", "Rhiannon", "Llŷr", "Dafydd", "Anne-Marie",
]  # fmt: skip


def values(count: int, seed: int) -> list[list[tuple[str, str]]]:
    """``count`` values in forms of ten: [(field label, value)] in the form's order."""
    rng = random.Random(seed)
    surnames, forenames = SURNAMES + MORE_SURNAMES, FORENAMES + MORE_FORENAMES
    surnames += [plain(n) for n in surnames[::4]]  # as records kept without accents hold them
    forenames += [plain(n) for n in forenames[::4]]
    forms = []
    for i in range(-(-count // 10)):
        pence = rng.randint(0, 99999)
        day = date(2013, 4, 1) + timedelta(days=rng.randint(0, 5000))
        nino = f"{rng.choice(NINO_PREFIXES)}{rng.randint(0, 999999):06d}{rng.choice('ABCD')}"
        forms.append(
            [
                ("Case reference", f"CW-{rng.randint(2013, 2030)}-{rng.randint(0, 999999):06d}"),
                ("Claim reference", f"HB{rng.randint(0, 999999):06d}"),
                ("Council Tax account", f"CT{rng.randint(0, 9999999):07d}"),
                ("Surname", rng.choice(surnames)),
                ("Forenames", " ".join(rng.sample(forenames, rng.choice((1, 1, 2))))),
                ("NI number", nino),
                ("Change type", rng.choice(["NEW", "CHANGE", "END"])),
                ("Effective date", day.strftime("%d/%m/%Y")),
                ("Postcode", rng.choice(POSTCODES)),
                ("Weekly amount", f"£{pence // 100}.{pence % 100:02d}"),
            ]
        )
        del i
    flat = [pair for form in forms for pair in form][:count]
    return [flat[i : i + 10] for i in range(0, len(flat), 10)]


APP_KEYS = ("kind", "description", "max_sessions")  # apps.yaml keys of every kind
ACCENTED = {
    "a": "á", "e": "é", "i": "í", "o": "ö", "u": "ü", "n": "ñ", "s": "ş", "c": "ç", "z": "ž",
    "l": "ł", "A": "Å", "E": "É", "O": "Ó", "L": "Ł", "S": "Š", "Z": "Ż", "D": "Ð", "y": "ŷ",
}  # fmt: skip
LOOK_ALIKE = {
    "0": "8", "1": "7", "3": "8", "5": "6", "6": "5", "8": "3", "9": "8", "O": "Q", "I": "L",
    "£": "E", "/": "1", "-": ".", "B": "8", "S": "5", "Z": "2", "l": "I", "e": "c",
}  # fmt: skip


def _variants() -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for code in [*range(0xC0, 0x180), 0x174, 0x175, 0x176, 0x177]:
        char = chr(code)
        if char.isalpha() and char not in found[plain(char)]:
            found[plain(char)].append(char)
    return found


def plain(text: str) -> str:
    """``text`` without accents (as an app that keeps ASCII only would store it)."""
    folded = unicodedata.normalize("NFKD", text)
    out = "".join(c for c in folded if not unicodedata.combining(c))
    return out.translate(str.maketrans("ŁłØøÐðÞþÆæıß", "LlOoDdTtEeis"))


VARIANTS = _variants()  #: plain letter -> it and its accented forms


def garbled(value: str, kind: str, rng: random.Random) -> tuple[str, str]:
    """A value the field does *not* show, as a remote session's faults leave it, and the
    fault: a key press ``lost``, a character the app stored as ``?`` (``charset``), an
    accent the app did not keep (``accent``: the value is expected with an accent the
    field lacks), an OCR ``look-alike`` (8 for 3, Q for O)."""
    faults = ["lost", "charset"]
    if any(c in LOOK_ALIKE for c in value):
        faults.append("look-alike")
    if kind == "name" and any(c in ACCENTED for c in value):
        faults.append("accent")
    fault = rng.choice(faults)
    if fault == "accent":
        i = rng.choice([i for i, c in enumerate(value) if c in ACCENTED])
        return value[:i] + ACCENTED[value[i]] + value[i + 1 :], fault
    if fault == "look-alike":
        i = rng.choice([i for i, c in enumerate(value) if c in LOOK_ALIKE])
        return value[:i] + LOOK_ALIKE[value[i]] + value[i + 1 :], fault
    i = rng.randrange(len(value))
    if fault == "lost" and len(value) > 1:
        return value[:i] + value[i + 1 :], fault
    return value[:i] + "?" + value[i + 1 :], "charset"


def swapped_accent(value: str, rng: random.Random) -> str | None:
    """``value`` with one accented letter given another accent (á for â), or None."""
    spots = [i for i, c in enumerate(value) if plain(c) != c and len(VARIANTS[plain(c)]) > 2]
    if not spots:
        return None
    i = rng.choice(spots)
    others = [v for v in VARIANTS[plain(value[i])] if v not in (value[i], plain(value[i]))]
    others = [v for v in others if v.isupper() == value[i].isupper()]
    return value[:i] + rng.choice(others) + value[i + 1 :] if others else None


def open_client(home: Path) -> DesktopConnector:
    """The shipped revenues-published app, started by its connector as a bot's run would."""
    apps = yaml.safe_load((ROOT / "config/apps.yaml").read_text(encoding="utf-8"))["apps"]
    entry = {k: v for k, v in apps[PUBLISHED].items() if k not in APP_KEYS}
    entry["command"] = published_command()
    services = AppServices(
        secret=lambda _name: SANDBOX_PASSWORD,
        capture=lambda *a, **k: None,
        step=lambda *a, **k: None,
        home=home,
        run_folder=home / "logs" / "bench",
    )
    return DesktopConnector(PUBLISHED, DesktopSettings.model_validate(entry), services)


def inner_display(home: Path) -> str:
    """The published session's own display, from the READY line the sandbox printed."""
    log = home / "logs" / "bench" / f"{PUBLISHED}.log"
    for line in log.read_text(encoding="utf-8").splitlines():
        if line.startswith("READY "):
            return line.split()[1]
    raise SystemExit(f"the published sandbox printed no READY line; see {log}")


def held(inner: str, point: tuple[int, int]) -> str:
    """What the field at ``point`` (session coordinates) holds, asked inside the session
    (its own clipboard): the truth the benchmark compares a failed reading with."""
    env = {**os.environ, "DISPLAY": inner}
    subprocess.run(
        ["xdotool", "mousemove", str(point[0]), str(point[1]), "click", "1", "sleep", "0.1"],
        env=env,
        check=True,
    )
    subprocess.run(["xdotool", "key", "ctrl+slash", "ctrl+c", "sleep", "0.1"], env=env, check=True)
    out = subprocess.run(
        ["xclip", "-o", "-selection", "clipboard"], env=env, capture_output=True, check=False
    )
    return out.stdout.decode("utf-8")


def settle(session: PixelSession, quiet: float = 0.15, timeout: float = 5.0) -> None:
    """Until the viewer has shown no change for ``quiet`` seconds (the typing has arrived)."""
    screens = session.screens
    assert screens is not None
    last, since = None, time.monotonic()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        screens.look()
        frame = screens.image.tobytes()
        if frame != last:
            last, since = frame, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.03)


def timed(call: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = call(*args, **kwargs)
    return result, (time.perf_counter() - started) * 1000


def confirmed(reading: Any, value: str, min_confidence: float) -> bool:
    return bool(reading.text == value and reading.confidence >= min_confidence)


class Bench:
    """The three readings of each field, and what they came to."""

    def __init__(self, client: DesktopConnector, home: Path, args: argparse.Namespace) -> None:
        import tesserocr

        session = client.session
        assert isinstance(session, PixelSession) and session.screens and session.pixels
        self.client, self.session, self.args = client, session, args
        self.screens, self.pixels, self.ocr = session.screens, session.pixels, session.screens.ocr
        self.raw = lambda image: tesserocr.image_to_text(image, path=f"{tessdata_dir()}/")
        self.inner = inner_display(home)
        self.rng = random.Random(args.seed + 1)
        self.stats: dict[str, Counter[str]] = defaultdict(Counter)
        self.ours_ms: list[float] = []
        self.raw_ms: list[float] = []
        self.notes: list[str] = []
        self.faults: Counter[str] = Counter()
        fields = revenues_client.ChangeValues(*"x" * 10).fields()
        self.focus = {f.label: f.focus for f in fields}

    def form(self, form: list[tuple[str, str]]) -> None:
        """Type one form's values, wait for the viewer to show them, read each back."""
        revenues_client.open_form(self.client)
        for label, value in form:
            self.session.fill_field(self.focus[label], value)
        settle(self.session)
        for label, value in form:
            self.field(label, value)
        self.client.home()

    def field(self, label: str, value: str) -> None:
        region = self.pixels.fields[label]
        box = self.screens.box(region)
        window = self.screens.window
        if box is None or window is None:
            raise SystemExit(f"the label {label!r} was not found on the form")
        left, top = box[0] - window.x, box[1] - window.y
        gl, gt, gw, gh = around_field((left, top, box[2], box[3]))
        crop = field_crop(self.screens.image.crop((gl, gt, gl + gw, gt + gh)))
        kind, least = region.kind, self.pixels.min_confidence
        reading, ms = timed(self.ocr.verify, crop, kind, value, least)
        shown = value
        if not confirmed(reading, value, least):
            shown = held(self.inner, (left + 20, top + box[3] // 2))
            if shown != value:  # the typing, not the reading, went wrong: read what is there
                self.stats[kind].update(typing_error=1)
                self.notes.append(f"{label}: typed {value!r}, the field holds {shown!r}")
                reading, ms = timed(self.ocr.verify, crop, kind, shown, least)
        self.ours_ms.append(ms)
        if self.args.keep:
            name = f"{sum(c['values'] for c in self.stats.values()):04d}.png"
            crop.save(self.args.keep / name)
            with (self.args.keep / "labels.tsv").open("a", encoding="utf-8") as out:
                out.write(f"{name}\t{kind}\t{shown}\n")
        wrong, fault = garbled(shown, kind, self.rng)
        fooled = confirmed(self.ocr.verify(crop, kind, wrong, least), wrong, least)
        swap = swapped_accent(shown, self.rng) if kind == "name" else None
        if swap is not None:
            swap_fooled = confirmed(self.ocr.verify(crop, kind, swap, least), swap, least)
            self.stats[kind].update(accent_swaps=1, accent_swap_accepted=swap_fooled)
        raw, ms = timed(self.raw, crop)
        self.raw_ms.append(ms)
        ok = confirmed(reading, shown, least)
        self.stats[kind].update(
            values=1,
            read_back=ok,
            raw=raw.strip() == shown,
            false_accept=fooled,
        )
        self.faults.update([f"{fault} tried"] + ([f"{fault} accepted"] if fooled else []))
        if fooled:
            self.notes.append(f"{label}: FALSE ACCEPT of {wrong!r}; the field shows {shown!r}")
        if not ok:
            self.notes.append(
                f"{label}: {shown!r} read {reading.text!r} ({reading.confidence:.0f}, "
                f"{reading.model})"
            )
            if self.args.dump:
                crop.save(self.args.dump / f"{len(self.notes):03d}-{kind}.png")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dump", type=Path, help="save the crops that were not read back")
    parser.add_argument("--keep", type=Path, help="save every crop and its value (labels.tsv)")
    args = parser.parse_args()
    for folder in (args.dump, args.keep):
        if folder:
            folder.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="borough-ocr-bench-"))
    started = time.monotonic()
    try:
        with virtual_display():
            client = open_client(home)
            try:
                bench = Bench(client, home, args)
                for number, form in enumerate(values(args.values, args.seed), start=1):
                    bench.form(form)
                    if number % 10 == 0:
                        done = sum(c["values"] for c in bench.stats.values())
                        print(f"  {done} values ...", file=sys.stderr, flush=True)
            finally:
                client.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    report(bench, time.monotonic() - started)
    total = sum(bench.stats.values(), Counter())
    good = total["read_back"] >= 0.995 * total["values"]
    return 0 if good and not total["false_accept"] else 1


def report(bench: Bench, seconds: float) -> None:
    def pct(part: int, whole: int) -> str:
        return f"{100 * part / whole:6.2f} %"

    print(f"{'kind':<10} {'values':>6} {'read back':>10} {'raw':>10} {'false accepts':>14}")
    total: Counter[str] = Counter()
    for kind, c in sorted(bench.stats.items()):
        total += c
        print(
            f"{kind:<10} {c['values']:>6} {pct(c['read_back'], c['values']):>10} "
            f"{pct(c['raw'], c['values']):>10} {c['false_accept']:>14}"
        )
    n = total["values"]
    print(
        f"{'all':<10} {n:>6} {pct(total['read_back'], n):>10} {pct(total['raw'], n):>10} "
        f"{total['false_accept']:>14}"
    )

    def timing(ms: list[float]) -> str:
        ordered = sorted(ms)
        p95 = ordered[int(0.95 * len(ordered))]
        return f"median {statistics.median(ordered):5.1f} ms, p95 {p95:5.1f} ms"

    ratio = statistics.median(bench.ours_ms) / statistics.median(bench.raw_ms)
    print(f"time per read: read-back {timing(bench.ours_ms)}; raw {timing(bench.raw_ms)}")
    print(f"ratio read-back / raw (median): {ratio:.2f}; whole run {seconds:.0f} s")
    print(f"typing errors (the field held something else; read as shown): {total['typing_error']}")
    print("false accepts by fault:", ", ".join(f"{k} {v}" for k, v in sorted(bench.faults.items())))
    print(
        f"names with one accent swapped for another on the same letter (á for â): "
        f"{total['accent_swap_accepted']} of {total['accent_swaps']} confirmed"
    )
    for note in bench.notes:
        print("  ", note)


if __name__ == "__main__":
    sys.exit(main())
