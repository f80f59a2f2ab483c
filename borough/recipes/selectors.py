"""Checks of what a recipe points at, made before any run: selectors, key chords.

Playwright takes CSS, ``text=``, ``xpath=`` and a few other engines; a selector with an
unbalanced bracket, quote or parenthesis, an empty part, or an unknown ``engine=``
prefix would only fail in the middle of a run, on the first item, in front of an
operator. So does a key chord naming a key that does not exist.
"""

from __future__ import annotations

import re

ENGINES = frozenset(
    {"css", "text", "xpath", "id", "data-testid", "role", "nth", "internal:role", "label"}
)
_PAIRS = {"]": "[", ")": "("}
_ENGINE = re.compile(r"^([a-z][a-z:-]*)=")

MODIFIERS = frozenset({"ctrl", "alt", "shift", "win", "command", "option", "super"})
NAMED_KEYS = frozenset(
    {
        "enter", "return", "tab", "escape", "esc", "space", "backspace", "delete", "del",
        "insert", "home", "end", "pageup", "pagedown", "up", "down", "left", "right",
        "capslock", "printscreen", "pause", "menu", "apps", "numlock", "scrolllock",
        *(f"f{n}" for n in range(1, 25)),
    }
)  # fmt: skip
_PUNCTUATION = frozenset("`-=[]\\;',./~!@#$%^&*()_+{}|:\"<>?")


def selector_problem(selector: str) -> str | None:
    """Why ``selector`` cannot be a Playwright selector, or None if it can."""
    text = selector.strip()
    if not text:
        return "the selector is empty"
    engine = _ENGINE.match(text)
    if engine and not text.startswith(("http:", "https:")):
        name = engine.group(1)
        if name not in ENGINES:
            return f"unknown selector engine {name!r} (use css=, text=, xpath=, id=, role=)"
        if name != "css":
            return None if text[engine.end() :].strip() else f"nothing after {name}="
        text = text[engine.end() :]
    if text.startswith("//") or text.startswith("xpath"):
        return None
    stack: list[str] = []
    quote: str | None = None
    for char in text:
        if quote:
            if char == quote:
                quote = None
            continue
        if char in "'\"":
            quote = char
        elif char in "[(":
            stack.append(char)
        elif char in "])" and (not stack or stack.pop() != _PAIRS[char]):
            return f"unbalanced {char!r} in selector {selector!r}"
    if quote:
        return f"unclosed quote in selector {selector!r}"
    if stack:
        return f"unclosed {stack[-1]!r} in selector {selector!r}"
    if text.endswith((">", "+", "~", ",")) or text.startswith((">", "+", "~", ",")):
        return f"selector {selector!r} starts or ends with a combinator"
    if re.search(r"(^|[\s>+~,])#(\d|$|[\s>+~,])", text):
        return f"selector {selector!r} has an id (#) that is empty or starts with a digit"
    if re.search(r",\s*,", text):
        return f"selector {selector!r} has an empty part between commas"
    return None


def chord_problem(chord: str) -> str | None:
    """Why ``chord`` (``ctrl+n``, ``alt+s``, ``enter``) is not a key chord, or None."""
    parts = [part.strip().lower() for part in chord.split("+")]
    if chord.strip() == "+" or not all(parts):
        return f"key chord {chord!r} has an empty part"
    *mods, key = parts
    bad_mods = [m for m in mods if m not in MODIFIERS]
    if bad_mods:
        return f"key chord {chord!r}: {bad_mods[0]!r} is not a modifier (ctrl, alt, shift, win)"
    if len(key) == 1 and (key.isalnum() or key in _PUNCTUATION):
        return None
    if key in NAMED_KEYS or key in MODIFIERS:
        return None
    return f"key chord {chord!r}: unknown key {key!r} (a letter, digit, enter, tab, f1..f24...)"
