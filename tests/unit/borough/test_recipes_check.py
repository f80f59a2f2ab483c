# ruff: noqa: E501  (a table of YAML lines: each case reads best on one line)
"""Bad recipes are refused before any run, each with its file:line and what to do.

Every case below changes one thing in a valid recipe; the line marked ``# <-`` is where
the error must point. The valid recipe itself loads (so each case fails for its own
reason) and `borough config check` reports every problem of a file, not only the first.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from borough.cli import app
from borough.config.loader import load_config
from borough.config.paths import resolve_paths
from borough.errors import ConfigError
from borough.registry import load_bot
from borough.testing import home_env, make_home

ROOT = Path(__file__).resolve().parents[3]
NAME = "coc-recipe"

VALID = """\
bot: coc-recipe
kind: recipe
inputs: {notifications: input/coc.csv}
apps: [casework, revenues-desktop]
secrets: [casework-login]
recipe:
  input: notifications
  columns:
    claim_ref: {column: Claim Ref, pattern: '^HB\\d{6}$'}
    surname: {column: Surname, personal: name}
    effective_from: {column: Effective From, type: uk_date}
    weekly: {column: Weekly CTR, type: pounds}
  key: claim_ref
  app: casework
  find_existing:
    steps:
      - click: {element: menu/case search, frame: nav, opens: search}
      - fill: {element: search window/claim reference, window: search, value: "{{ claim_ref }}"}
      - click: {element: search window/search, window: search, loads: true}
      - find_row: {element: search results/results, window: search, where: {Ref: "{{ claim_ref }}"}, into: case}
    found: "{{ case.Ref }}"
  steps:
    - find_row: {element: search results/results, window: search, where: {Ref: "{{ claim_ref }}", Status: Draft}, into: draft}
    - if: {found: draft}
      then:
        - goto: {path: "/case/{{ draft.Ref }}/edit", frame: content}
        - read: {element: case form/notes, frame: content, into: notes}
      else:
        - click: {element: menu/new case, frame: nav, loads: content}
        - read: {element: case form/notes, frame: content, into: notes}
    - if: {equals: ["{{ notes }}", ""]}
      then:
        - fill: {element: case form/notes, frame: content, value: "{{ claim_ref }}"}
    - if: {shows: case form/surname, frame: content}
      then:
        - fill: {element: case form/surname, frame: content, value: "{{ surname }}"}
    - fill: {element: case form/surname, frame: content, value: "{{ surname }}"}
    - fill: {element: case form/weekly amount, frame: content, value: "{{ weekly | amount }}"}
    - keys: {app: revenues-desktop, keys: ctrl+n}
    - save: {element: case form/save, frame: content, confirm: saved case/confirmation, reference: "#lblCaseRef"}
"""

FIND_BLOCK = VALID[VALID.index("  find_existing:") : VALID.index("\n  steps:\n") + 1]
SAVE = '    - save: {element: case form/save, frame: content, confirm: saved case/confirmation, reference: "#lblCaseRef"}'

#: (what is wrong, the change, words the message must hold); the error's line is marked
CASES: list[tuple[str, tuple[str, str], str]] = [
    ("unknown step", ("    - keys: {app", "    - press: {app: revenues-desktop}  # <-\n    - keys: {app"), "unknown step 'press'"),
    ("misspelt step key", ("frame: content, value: \"{{ surname }}\"}", "frame: content, valeu: \"{{ surname }}\"}  # <-"), "unknown key 'valeu'"),
    ("unknown column in a template", ("value: \"{{ surname }}\"}", "value: \"{{ surnmae }}\"}  # <-"), "unknown column 'surnmae'"),
    ("unknown column in find_row", ("where: {Ref: \"{{ claim_ref }}\"}, into: case}", "where: {Ref: \"{{ claim }}\"}, into: case}  # <-"), "unknown column 'claim'"),
    ("variable used before it is set", ("found: \"{{ case.Ref }}\"", "found: \"{{ kase.Ref }}\"  # <-"), "unknown column 'kase'"),
    ("unbalanced bracket in a selector", ("    - keys: {app", "    - click: \"input[name=x\"  # <-\n    - keys: {app"), "unclosed '['"),
    ("bad selector engine", ("    - keys: {app", "    - wait_for: \"foo=bar\"  # <-\n    - keys: {app"), "unknown selector engine 'foo'"),
    ("empty id in a selector", ("    - keys: {app", "    - click: \"# > a\"  # <-\n    - keys: {app"), "id (#)"),
    ("undeclared screen", ("{element: menu/new case, frame: nav, loads: content}", "{element: menus/new case, frame: nav, loads: content}  # <-"), "declares no screen 'menus'"),
    ("undeclared element", ("{element: case form/surname,", "{element: case form/surnam,  # <-\n"), "declares no element 'surnam'"),
    ("element without a screen", ("{element: case form/weekly amount,", "{element: weekly amount,  # <-\n"), "SCREEN/ELEMENT"),
    ("save without find_existing", ("  find_existing:\n", "  find_existing_off:\n"), "unknown key 'find_existing_off'"),
    ("no save step", (SAVE + "\n", ""), "no save step"),
    ("two save steps", (SAVE, SAVE + "\n    - save: {element: case form/save, frame: content}  # <-"), "one save step"),
    ("save inside find_existing", ("    found:", "      - save: {element: case form/save, frame: content}  # <-\n    found:"), "cannot save"),
    ("desktop step on a web app", ("    - keys: {app: revenues-desktop, keys: ctrl+n}", "    - keys: ctrl+n  # <-"), "is for desktop apps"),
    ("web step on a desktop app", ("    - keys: {app", "    - goto: {app: revenues-desktop, path: /x}  # <-\n    - keys: {app"), "is for web apps"),
    ("app the bot does not list", ("    - keys: {app", "    - goto: {app: payroll, path: /x}  # <-\n    - keys: {app"), "unknown app 'payroll'"),
    ("unknown key chord", ("keys: ctrl+n}", "keys: ctrl+nn}  # <-"), "unknown key 'nn'"),
    ("bad modifier", ("keys: ctrl+n}", "keys: cmd+n}  # <-"), "is not a modifier"),
    ("unknown column type", ("{column: Surname, personal: name}", "{column: Surname, type: txet, personal: name}  # <-"), "Input should be 'text'"),
    ("bad regular expression", ("pattern: '^HB\\d{6}$'}", "pattern: '^HB(\\d{6}$'}  # <-"), "not a regular expression"),
    ("key is not a column", ("  key: claim_ref", "  key: claim  # <-"), "key 'claim' is not a column"),
    ("input the bot does not have", ("  input: notifications", "  input: notes  # <-"), "input 'notes' is not among"),
    ("secret not declared", ("    - keys: {app", "    - fill: {element: case form/surname, frame: content, secret: payroll-pw}  # <-\n    - keys: {app"), "secret 'payroll-pw'"),
    ("template that calls code", ("value: \"{{ weekly | amount }}\"}", "value: \"{{ weekly.__class__.mro() }}\"}  # <-"), "calls something"),
    ("unknown filter", ("value: \"{{ weekly | amount }}\"}", "value: \"{{ weekly | money }}\"}  # <-"), "unknown filter 'money'"),
    ("broken template", ("value: \"{{ surname }}\"}", "value: \"{{ surname \"}  # <-"), "does not parse"),
    ("step that is not a mapping", ("    - keys: {app", "    - just text  # <-\n    - keys: {app"), "a step is a mapping"),
    ("two steps in one entry", ("    - keys: {app: revenues-desktop, keys: ctrl+n}", "    - {keys: ctrl+n, home: true, app: revenues-desktop}  # <-"), "one step per list entry"),
    ("look_first without find_existing", (FIND_BLOCK, "  look_first: true  # <-\n"), "look_first needs find_existing"),
    ("save that gives no reference", (", reference: \"#lblCaseRef\"}", "}  # <-"), "needs the save's reference"),
    ("a recipe with an entry", ("kind: recipe\n", "kind: recipe\nentry: bots.x:Y  # <-\n"), "has no entry"),
    ("unknown test in an if", ("    - if: {found: draft}", "    - if: {exists: draft}  # <-"), "unknown test 'exists'"),
    ("two tests in one if", ("    - if: {found: draft}", "    - if: {found: draft, missing: draft}  # <-"), "one test per if"),
    ("if on an unknown variable", ("    - if: {found: draft}", "    - if: {found: draftt}  # <-"), "unknown column 'draftt'"),
    ("if without then", ("      then:\n        - goto", "      than:  # <-\n        - goto"), "unknown key 'than'"),
    ("if with only an else", ("    - if: {found: draft}\n      then:\n        - goto: {path: \"/case/{{ draft.Ref }}/edit\", frame: content}\n        - read: {element: case form/notes, frame: content, into: notes}\n", "    - if: {found: draft}  # <-\n"), "needs then:"),
    ("save inside an if", ("        - click: {element: menu/new case, frame: nav, loads: content}\n", "        - save: {element: case form/save, frame: content}  # <-\n"), "never inside if:"),
    ("variable set in one branch only", ("        - read: {element: case form/notes, frame: content, into: notes}\n    - if: {equals: [\"{{ notes }}\", \"\"]}", "    - if: {equals: [\"{{ notes }}\", \"\"]}  # <-"), "unknown column 'notes'"),
    ("branch step of another app", ("        - click: {element: menu/new case, frame: nav, loads: content}\n", "        - keys: {app: revenues-desktop, keys: ctrl+n}  # <-\n"), "drive the app of its if"),
    ("shows on a desktop app", ("    - if: {shows: case form/surname, frame: content}", "    - if: {shows: Change form, app: revenues-desktop}  # <-"), "shows: is for web apps"),
    ("shows an undeclared element", ("    - if: {shows: case form/surname, frame: content}", "    - if: {shows: case form/surnme, frame: content}  # <-"), "declares no element 'surnme'"),
    ("equals with one value", ("    - if: {equals: [\"{{ notes }}\", \"\"]}", "    - if: {equals: \"{{ notes }}\"}  # <-"), "two values"),
    ("then that is not a list", ("      then:\n        - fill: {element: case form/notes, frame: content, value: \"{{ claim_ref }}\"}", "      then: nothing  # <-"), "a list of steps"),
]  # fmt: skip


@pytest.fixture
def home(tmp_path: Path) -> Path:
    apps = (ROOT / "config" / "apps.yaml").read_text(encoding="utf-8")
    return make_home(tmp_path / "home", files={"config/apps.yaml": apps})


def write(home: Path, text: str) -> Path:
    file = home / "config" / "bots" / f"{NAME}.yaml"
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")
    return file


def load(home: Path):
    config = load_config(resolve_paths(home_env(home)))
    return load_bot(NAME, config)


def test_the_valid_recipe_loads(home: Path):
    write(home, VALID)
    bot = load(home)
    assert bot.name == NAME and bot.personal == {"surname": "name"}
    assert bot.declares_intent


def test_there_are_at_least_twenty_bad_recipes():
    assert len(CASES) >= 20


@pytest.mark.parametrize(("what", "change", "words"), CASES, ids=[c[0] for c in CASES])
def test_a_bad_recipe_names_its_line(home: Path, what: str, change: tuple[str, str], words: str):
    old, new = change
    assert old in VALID, what
    text = VALID.replace(old, new, 1)
    file = write(home, text)
    with pytest.raises(ConfigError) as raised:
        load(home)
    problems = [raised.value, *raised.value.others]
    messages = [str(p) for p in problems]
    found = [p for p in problems if words in str(p)]
    assert found, f"{what}: {messages}"
    marked = [n for n, line in enumerate(text.splitlines(), start=1) if "# <-" in line]
    if marked:
        assert found[0].line == marked[0], f"{what}: {messages}"
    assert str(found[0]).startswith(f"{file}:{found[0].line} "), "file:line first"


def test_a_save_without_find_existing_is_refused_at_the_save(home: Path):
    start = VALID.index("  find_existing:")
    end = VALID.index("\n  steps:\n") + 1
    text = VALID[:start] + VALID[end:]
    write(home, text)
    with pytest.raises(ConfigError) as raised:
        load(home)
    save_line = next(n for n, line in enumerate(text.splitlines(), 1) if "- save:" in line)
    assert "a save without find_existing" in str(raised.value)
    assert raised.value.line == save_line


def test_config_check_lists_every_problem_of_a_recipe(home: Path, monkeypatch: pytest.MonkeyPatch):
    text = VALID.replace("{{ surname }}", "{{ surnmae }}").replace(
        "keys: ctrl+n}", "keys: ctrl+nn}"
    )
    file = write(home, text)
    for key, value in home_env(home).items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(app, ["config", "check"])
    assert result.exit_code == 3
    assert re.search(rf"{re.escape(str(file))}:\d+ .*unknown column 'surnmae'", result.output)
    assert re.search(rf"{re.escape(str(file))}:\d+ .*unknown key 'nn'", result.output)


def test_loading_or_checking_a_recipe_imports_no_connector(home: Path):
    """The scheduler checks recipes; connectors (browsers, X) load only when one runs."""
    write(home, VALID)
    code = (
        "import sys; from borough.config.loader import load_config;"
        "from borough.config.paths import resolve_paths; from borough.registry import load_bot;"
        f"load_bot({NAME!r}, load_config(resolve_paths({home_env(home)!r})));"
        "print(sorted(m for m in sys.modules if m.startswith(('connectors', 'playwright'))))"
    )
    import subprocess

    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]", out.stdout
