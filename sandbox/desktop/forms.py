"""The "New CTR change" form: modal, Alt+letter accelerators, validation and lock pop-ups."""

from __future__ import annotations

import random
import tkinter as tk
import unicodedata
from collections.abc import Callable
from tkinter import ttk

from sandbox.desktop import rules
from sandbox.desktop.dialogs import MessageBox, Question
from sandbox.desktop.store import Duplicate, Store

TITLE = "New CTR change"
NEXT_TITLE = "New Council Tax Reduction change"  #: the client's next version calls it this
#: field -> index of the underlined letter in its label (Alt+letter focuses the field).
ACCELERATORS = {
    "case_ref": 0,
    "claim_ref": 1,
    "account": 8,
    "surname": 1,
    "forenames": 0,
    "nino": 0,
    "change_type": 1,
    "effective_date": 0,
    "postcode": 0,
}


class ChangeForm(tk.Toplevel):
    def __init__(
        self,
        root: tk.Tk,
        store: Store,
        user: str,
        *,
        lock_rate: float,
        rng: random.Random,
        save_delay_ms: int,
        on_saved: Callable[[str], None],
        title: str = TITLE,
        unstorable: str = "",
    ) -> None:
        super().__init__(root)
        self.title(title)
        self.resizable(False, False)
        self.transient(root)
        self._store, self._user, self._rng = store, user, rng
        self._lock_rate, self._save_delay_ms = lock_rate, save_delay_ms
        self._on_saved = on_saved
        self._unstorable = {ord(c): base_letter(c) for c in unstorable}
        self._busy = False
        self.vars: dict[str, tk.StringVar] = {}
        self.entries: dict[str, ttk.Entry] = {}
        frame = ttk.Frame(self, padding=14)
        frame.pack(fill="both", expand=True)
        frame.columnconfigure(0, minsize=170)
        for row, field in enumerate(rules.FIELDS):
            self._add_field(frame, row, field)
        buttons = ttk.Frame(frame)
        buttons.grid(row=len(rules.FIELDS), column=0, columnspan=2, sticky="e", pady=(12, 0))
        ttk.Button(buttons, text="Save", underline=0, command=self.save).pack(side="left", padx=4)
        ttk.Button(buttons, text="Cancel", command=self.cancel).pack(side="left")
        for sequence in ("<Alt-s>", "<Alt-S>", "<Control-s>", "<Control-S>"):
            self.bind(sequence, lambda _e: self.save())
        self.bind("<Escape>", lambda _e: self.cancel())
        self.protocol("WM_DELETE_WINDOW", self.cancel)
        self.wait_visibility()
        self.grab_set()
        self.focus_force()
        self.entries["case_ref"].focus_set()

    def _add_field(self, frame: ttk.Frame, row: int, field: str) -> None:
        var = tk.StringVar(self)
        limit = rules.MAX_LENGTH.get(field)

        def keep(*_args: object) -> None:
            """The old client silently cuts what does not fit, and keeps a letter its code
            page lacks as the plain letter (shown and saved so)."""
            text = var.get()
            kept = text.translate(self._unstorable)[:limit]
            if kept != text:
                var.set(kept)

        if limit is not None or self._unstorable:
            var.trace_add("write", keep)
        label = ttk.Label(frame, text=rules.LABELS[field], underline=ACCELERATORS.get(field, -1))
        label.grid(row=row, column=0, sticky="w", pady=3)
        entry = ttk.Entry(frame, textvariable=var, width=36)
        entry.grid(row=row, column=1, sticky="w", pady=3)
        if field in ACCELERATORS:
            letter = rules.LABELS[field][ACCELERATORS[field]].lower()
            for sequence in (f"<Alt-{letter}>", f"<Alt-{letter.upper()}>"):
                self.bind(sequence, lambda _e, w=entry: (w.focus_set(), "break")[1])
        else:
            entry.configure(takefocus=0)  # added in a later release: no tab stop, no accelerator
        self.vars[field], self.entries[field] = var, entry

    def values(self) -> dict[str, str]:
        return {field: var.get() for field, var in self.vars.items()}

    def save(self) -> None:
        if self._busy:
            return
        self._busy = True
        self.after(self._save_delay_ms, self._save_now)

    def _save_now(self) -> None:
        values = self.values()
        found = rules.problems(values)
        if found:
            field, message = found[0]
            self._store.event("validation", field)
            self._pop("Validation error", message, focus=field)
            return
        if self._lock_rate and self._rng.random() < self._lock_rate:
            self._store.event("locked", values["case_ref"].strip())
            account = values["account"].strip()
            self._pop(
                "Record locked",
                f"Council Tax account {account} is locked by another user (J.PATEL, Revenues). "
                "Try again in a few minutes.",
            )
            return
        try:
            reference = self._store.save(rules.normalise(values), self._user)
        except Duplicate as exc:
            self._store.event("duplicate", values["case_ref"].strip())
            self._pop("Validation error", f"This case reference is already recorded as {exc}.")
            return
        MessageBox(
            self,
            "Change saved",
            f"Change saved as {reference}.",
            then=lambda: self._done(reference),
        )

    def _pop(self, title: str, message: str, *, focus: str | None = None) -> None:
        def after() -> None:
            self._busy = False
            if focus is not None:
                self.entries[focus].focus_set()

        MessageBox(self, title, message, then=after)

    def _done(self, reference: str) -> None:
        self.grab_release()
        self.destroy()
        self._on_saved(reference)

    def cancel(self) -> None:
        if self._busy:
            return
        if not any(value.strip() for value in self.values().values()):
            self._close()
            return
        Question(
            self,
            "Discard changes?",
            "Discard this change? Nothing has been saved.",
            lambda yes: self._close() if yes else None,
        )

    def _close(self) -> None:
        self.grab_release()
        self.destroy()
        self.master.focus_force()


def base_letter(char: str) -> str:
    """``char`` without its accents (ř -> r, Ł stays Ł: it has no decomposition)."""
    plain = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
    return plain or "?"
