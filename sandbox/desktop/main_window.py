"""The revenues client's sign-in dialog and main window: menus, a search box and the grid."""

from __future__ import annotations

import hmac
import random
import tkinter as tk
from dataclasses import dataclass
from tkinter import ttk

from sandbox.desktop.dialogs import MessageBox
from sandbox.desktop.forms import NEXT_TITLE, ChangeForm
from sandbox.desktop.forms import TITLE as FORM_TITLE
from sandbox.desktop.store import Store

TITLE = "Revenues Client"
SIGN_IN_TITLE = "Revenues Client - Sign in"
COLUMNS = ("Reference", "Case reference", "Account", "Change", "Effective", "Weekly", "Entered by")


@dataclass(frozen=True)
class Options:
    user: str
    password: str
    lock_rate: float = 0.0
    seed: int | None = None
    save_delay_ms: int = 0
    next_version: bool = False  #: the supplier's next release: the change form is renamed
    callers: tuple[str, ...] = ()  #: other residents shown under the grid, as written
    unstorable: str = ""  #: letters the form's code page lacks (kept as the plain letter)


class SignIn(tk.Toplevel):
    """User name and password; Enter signs in. Three failures close the client."""

    def __init__(self, app: RevenuesClient) -> None:
        super().__init__(app.root)
        self.app = app
        self.failures = 0
        self.title(SIGN_IN_TITLE)
        self.resizable(False, False)
        frame = ttk.Frame(self, padding=16)
        frame.pack()
        self.user, self.password = tk.StringVar(self), tk.StringVar(self)
        ttk.Label(frame, text="User name", underline=0).grid(row=0, column=0, sticky="w", pady=3)
        user_entry = ttk.Entry(frame, textvariable=self.user, width=28)
        user_entry.grid(row=0, column=1, pady=3)
        ttk.Label(frame, text="Password", underline=0).grid(row=1, column=0, sticky="w", pady=3)
        self.password_entry = ttk.Entry(frame, textvariable=self.password, show="*", width=28)
        self.password_entry.grid(row=1, column=1, pady=3)
        ttk.Button(frame, text="Sign in", command=self.submit, default="active").grid(
            row=2, column=1, sticky="e", pady=(10, 0)
        )
        self.bind("<Return>", lambda _e: self.submit())
        self.bind("<Alt-u>", lambda _e: user_entry.focus_set())
        self.bind("<Alt-p>", lambda _e: self.password_entry.focus_set())
        self.protocol("WM_DELETE_WINDOW", app.root.destroy)
        self.wait_visibility()
        self.focus_force()
        user_entry.focus_set()

    def submit(self) -> None:
        options = self.app.options
        user_ok = hmac.compare_digest(self.user.get().encode(), options.user.encode())
        password_ok = hmac.compare_digest(self.password.get().encode(), options.password.encode())
        if user_ok and password_ok:
            self.app.store.event("signed_in", options.user)
            self.destroy()
            self.app.show_main()
            return
        self.failures += 1
        self.app.store.event("sign_in_failed", str(self.failures))
        self.password.set("")
        if self.failures >= 3:
            self.app.root.destroy()
            return
        MessageBox(self, "Sign-in failed", "Unknown user name or wrong password.")


class RevenuesClient:
    def __init__(self, store: Store, options: Options) -> None:
        self.store, self.options = store, options
        self.rng = random.Random(options.seed)
        self.root = tk.Tk(className="RevenuesClient")
        self.root.title(TITLE)
        self.root.withdraw()
        self.search_text = tk.StringVar(self.root)
        self.status = tk.StringVar(self.root, value="Ready")
        self._build()
        SignIn(self)

    def _build(self) -> None:
        root = self.root
        menubar = tk.Menu(root)
        file_menu = tk.Menu(menubar, tearoff=False)
        file_menu.add_command(label="Exit", accelerator="Ctrl+Q", command=root.destroy)
        records = tk.Menu(menubar, tearoff=False)
        records.add_command(label="New change...", accelerator="Ctrl+N", command=self.new_change)
        records.add_command(label="Find...", accelerator="Ctrl+F", command=self.focus_search)
        records.add_command(label="Refresh", accelerator="F5", command=self.refresh)
        help_menu = tk.Menu(menubar, tearoff=False)
        help_menu.add_command(
            label="About",
            command=lambda: MessageBox(root, "About", "Revenues Client 4.2 (sandbox)"),
        )
        menubar.add_cascade(label="File", underline=0, menu=file_menu)
        menubar.add_cascade(label="Records", underline=0, menu=records)
        menubar.add_cascade(label="Help", underline=0, menu=help_menu)
        root.configure(menu=menubar)
        top = ttk.Frame(root, padding=(8, 8, 8, 4))
        top.pack(fill="x")
        ttk.Label(top, text="Find case reference:").pack(side="left")
        self.search_entry = ttk.Entry(top, textvariable=self.search_text, width=24)
        self.search_entry.pack(side="left", padx=6)
        self.search_entry.bind("<Return>", lambda _e: self.search())
        ttk.Button(top, text="Search", command=self.search).pack(side="left")
        self.grid = ttk.Treeview(root, columns=COLUMNS, show="headings", height=16)
        for column in COLUMNS:
            self.grid.heading(column, text=column)
            self.grid.column(column, width=110, stretch=True)
        self.grid.pack(fill="both", expand=True, padx=8)
        self.grid.bind("<Control-c>", self.copy_rows)
        self.grid.bind("<Control-C>", self.copy_rows)
        if self.options.callers:
            panel = ttk.LabelFrame(root, text="Recent callers", padding=(8, 2))
            panel.pack(fill="x", padx=8)
            ttk.Label(panel, text="\n".join(self.options.callers), justify="left").pack(anchor="w")
        ttk.Label(root, textvariable=self.status, anchor="w", padding=(8, 2)).pack(fill="x")
        for sequence, action in (
            ("<Control-n>", self.new_change),
            ("<Control-f>", self.focus_search),
            ("<F5>", self.refresh),
            ("<Control-q>", root.destroy),
        ):
            root.bind(sequence, lambda _e, act=action: act())
        root.geometry("860x520")

    def show_main(self) -> None:
        self.root.deiconify()
        self.refresh()
        self.root.focus_force()
        self.grid.focus_set()

    def refresh(self) -> None:
        self._fill(self.store.search(""))

    def focus_search(self) -> None:
        self.search_entry.focus_set()
        self.search_entry.select_range(0, "end")
        self.search_entry.icursor("end")

    def search(self) -> None:
        rows = self._fill(self.store.search(self.search_text.get()))
        self.grid.selection_set(self.grid.get_children())
        self.grid.focus_set()
        if rows:
            self.grid.focus(self.grid.get_children()[0])
        self.status.set(f"{rows} record(s) found" if rows else "No matching records")

    def _fill(self, rows: list[tuple[str, ...]]) -> int:
        self.grid.delete(*self.grid.get_children())
        for row in rows:
            self.grid.insert("", "end", values=row)
        self.status.set(f"{len(rows)} record(s)")
        return len(rows)

    def copy_rows(self, _event: object = None) -> str:
        """Copy the header and the selected rows, tab-separated, as spreadsheets expect."""
        lines = ["\t".join(COLUMNS)]
        for item in self.grid.selection():
            lines.append("\t".join(str(v) for v in self.grid.item(item, "values")))
        self.root.clipboard_clear()
        self.root.clipboard_append("\n".join(lines))
        return "break"

    def new_change(self) -> None:
        if self.root.grab_current() is not None:
            return
        ChangeForm(
            self.root,
            self.store,
            self.options.user,
            lock_rate=self.options.lock_rate,
            rng=self.rng,
            save_delay_ms=self.options.save_delay_ms,
            on_saved=self._saved,
            title=NEXT_TITLE if self.options.next_version else FORM_TITLE,
            unstorable=self.options.unstorable,
        )

    def _saved(self, reference: str) -> None:
        self.refresh()
        for item in self.grid.get_children():
            if self.grid.item(item, "values")[0] == reference:
                self.grid.selection_set(item)
                self.grid.focus(item)
        self.status.set(f"Saved {reference}")
        self.root.focus_force()
        self.grid.focus_set()

    def run(self) -> None:
        self.root.mainloop()
