"""Modal pop-ups as the old client draws them: a message box whose text Ctrl+C copies (as on
Windows), and a Yes/No question answered with Y or N."""

from __future__ import annotations

import tkinter as tk
from collections.abc import Callable
from tkinter import ttk


class _Modal(tk.Toplevel):
    def __init__(self, parent: tk.Misc, title: str) -> None:
        super().__init__(parent)
        self.title(title)
        self.resizable(False, False)
        self.transient(parent.winfo_toplevel())
        self._return_focus = parent.focus_get()
        self.protocol("WM_DELETE_WINDOW", self.close)

    def show(self, focus: tk.Widget) -> None:
        self.wait_visibility()
        self.grab_set()
        self.focus_force()
        focus.focus_set()

    def close(self) -> None:
        self.grab_release()
        parent = self.master.winfo_toplevel()
        self.destroy()
        if isinstance(parent, tk.Toplevel) and parent.winfo_exists():
            parent.grab_set()
        if self._return_focus is not None and self._return_focus.winfo_exists():
            self._return_focus.focus_force()


class MessageBox(_Modal):
    """Title, message, OK. Enter/Escape close it; Ctrl+C copies the message."""

    def __init__(
        self,
        parent: tk.Misc,
        title: str,
        message: str,
        *,
        then: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(parent, title)
        self.message = message
        self._then = then
        frame = ttk.Frame(self, padding=16)
        frame.pack(fill="both", expand=True)
        ttk.Label(frame, text=message, wraplength=380, justify="left").pack(anchor="w")
        ok = ttk.Button(frame, text="OK", command=self.close, default="active")
        ok.pack(anchor="e", pady=(12, 0))
        for sequence in ("<Return>", "<KP_Enter>", "<Escape>"):
            self.bind(sequence, lambda _e: self.close())
        self.bind("<Control-c>", self._copy)
        self.bind("<Control-C>", self._copy)
        self.show(ok)

    def _copy(self, _event: object = None) -> str:
        self.clipboard_clear()
        self.clipboard_append(self.message)
        return "break"

    def close(self) -> None:
        super().close()
        if self._then is not None:
            self._then()


class Question(_Modal):
    """A Yes/No question: Y answers yes, N or Escape no, Enter presses the focused button."""

    def __init__(
        self, parent: tk.Misc, title: str, message: str, on_answer: Callable[[bool], None]
    ) -> None:
        super().__init__(parent, title)
        self._on_answer = on_answer
        frame = ttk.Frame(self, padding=16)
        frame.pack(fill="both", expand=True)
        ttk.Label(frame, text=message, wraplength=380).pack(anchor="w")
        buttons = ttk.Frame(frame)
        buttons.pack(anchor="e", pady=(12, 0))
        no = ttk.Button(buttons, text="No", underline=0, command=lambda: self._answer(False))
        yes = ttk.Button(buttons, text="Yes", underline=0, command=lambda: self._answer(True))
        yes.pack(side="left", padx=4)
        no.pack(side="left")
        for sequence in ("y", "Y", "<Alt-y>"):
            self.bind(sequence, lambda _e: self._answer(True))
        self.bind("<Return>", self._press_focused)
        for sequence in ("n", "N", "<Alt-n>", "<Escape>"):
            self.bind(sequence, lambda _e: self._answer(False))
        self.show(no)

    def _press_focused(self, _event: object = None) -> None:
        widget = self.focus_get()
        if isinstance(widget, ttk.Button):
            widget.invoke()

    def _answer(self, yes: bool) -> None:
        self.close()
        self._on_answer(yes)
