"""The casework application itself: routes, sessions, CSRF, faults. No HTTP plumbing here."""

from __future__ import annotations

import math
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sandbox.web import basket, nextver, pages, reports
from sandbox.web.faults import Fault, FaultPlan
from sandbox.web.store import Case, CaseStore, DuplicateCase
from sandbox.web.validation import validate_case

SESSION_COOKIE = "CWSESSIONID"
PRELOGIN_COOKIE = "CWPRE"
STATIC = Path(__file__).parent / "static"
_CASE_PATH = re.compile(r"^/case/(CW-\d{6})(/edit)?$")


@dataclass(frozen=True)
class SandboxConfig:
    """Knobs of one sandbox instance (all times in seconds)."""

    store: Path
    users: Mapping[str, str] = field(default_factory=lambda: {"bot.casework": "Caseflow-2026!"})
    council: str = "Example Borough Council"
    idle_timeout: float = 900.0
    max_session_age: float | None = None
    fault_rate: float = 0.0
    fault_kinds: tuple[str, ...] = ("error500", "truncated", "locked")
    stall_seconds: float = 8.0
    latency: float = 0.0
    jitter: float = 0.0
    commit_delay: float = 0.0  #: a save answers this long after it committed
    seed: int | None = None
    page_size: int = 10
    today: date | None = None
    #: seconds for session idle and age limits; tests pass a clock they move by hand
    clock: Callable[[], float] = time.monotonic
    next_version: bool = False  #: serve Caseflow 5.0's screens (new ids, labels, form layout)
    #: other residents the app shows on its working pages ("recent callers"), as the real
    #: one does; each a dict of name, address, nino, email, phone, bank
    callers: tuple[Mapping[str, str], ...] = ()
    wrap: int = 0  #: re-wrap shown text (callers, a saved case's addressee) at this width
    #: new cases wait in the session's unsaved work until "Save all" (sandbox/web/basket.py)
    save_later: bool = False
    #: every Nth case save commits, then breaks its answer (0: only random faults)
    break_every_nth_save: int = 0


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    cookies: dict[str, str]


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    cookies: list[str] = field(default_factory=list)
    truncate_at: int | None = None  #: send only this many bytes, then drop the connection


@dataclass
class Session:
    user: str
    token: str
    created: float
    last_seen: float
    #: --save-later: new cases held until Save all (lost with the session)
    held: list[dict[str, Any]] = field(default_factory=list)


def html(text: str, status: int = 200) -> Response:
    return Response(status=status, body=text.encode("utf-8"))


def redirect(location: str) -> Response:
    return Response(status=303, headers={"Location": location})


class CaseworkApp:
    """One running casework system: its store, sessions and fault plan."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.store = CaseStore(config.store)
        self.faults = FaultPlan(
            config.fault_rate,
            config.fault_kinds,
            latency=config.latency,
            jitter=config.jitter,
            seed=config.seed,
            break_every_nth_save=config.break_every_nth_save,
        )
        self.next_version = config.next_version  #: switchable while serving (an upgrade)
        self._sessions: dict[str, Session] = {}
        self._prelogin: dict[str, str] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self.store.close()

    @property
    def screens(self) -> Any:
        """The renderers of the screens that differ between versions (nav, search, form...)."""
        return nextver if self.next_version else pages

    # -- entry point --------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        delay = self.faults.delay()
        if delay:
            time.sleep(delay)
        public: dict[tuple[str, str], Callable[[Request], Response]] = {
            ("GET", "/login"): self.login_page,
            ("POST", "/login"): self.login,
            ("GET", "/logout"): self.logout,
        }
        if req.path == "/favicon.ico":
            return html("not found", status=404)
        if req.path.startswith("/static/"):
            return self.static(req.path)
        if req.path == "/":
            return redirect("/main" if self._session(req) else "/login")
        if (req.method, req.path) in public:
            return public[(req.method, req.path)](req)
        session = self._session(req)
        if session is None:
            return self._login_required(req)
        if self.next_version and req.method == "POST":
            req.form = nextver.form_fields(req.form)  # 5.0 names -> the server's own
        return self._shown_with_callers(req, self._route(req, session))

    def _shown_with_callers(self, req: Request, response: Response) -> Response:
        """Working pages also list recent callers (other residents), re-wrapped and
        re-cased; a saved case's page shows its addressee the same way."""
        if not self.config.callers or response.status != 200 or req.method != "GET":
            return response
        if not (req.path in ("/home", "/search", "/reports", "/case/new") or
                _CASE_PATH.match(req.path)):  # fmt: skip
            return response
        extra = pages.callers_panel(self.config.callers, self.config.wrap)
        match = _CASE_PATH.match(req.path)
        if match and not match.group(2):
            case = self.store.get(match.group(1))
            if case is not None:
                extra = pages.addressee(case, self.config.wrap) + extra
        footer = b'<div id="cw-footer">'
        response.body = response.body.replace(footer, extra.encode("utf-8") + footer, 1)
        return response

    def _route(self, req: Request, session: Session) -> Response:
        simple: dict[str, Callable[[], str]] = {
            "/main": pages.frameset,
            "/banner": lambda: pages.banner(session.user, self.config.council),
            "/nav": self.screens.nav,
            "/status": lambda: pages.status_bar(self.config.idle_timeout),
            "/home": lambda: pages.home(session.user, self._counts()),
            "/reports": self.screens.reports,
        }
        if req.method == "GET" and req.path in simple:
            return html(simple[req.path]())
        save = req.method == "POST"
        match = _CASE_PATH.match(req.path)
        fault = self.faults.draw(save=save, lockable=bool(match and match.group(2)) or save)
        if fault is None and save and req.path.startswith("/case"):
            fault = self.faults.nth_save_breaks()
        if fault is not None:
            self.store.record_fault(
                fault.kind + ("-after" if fault.after_commit else ""), req.method, req.path
            )
            if fault.kind == "stall":
                time.sleep(self.config.stall_seconds)
            elif not fault.after_commit:
                early = self._early_fault(fault, req, session)
                if early is not None:
                    return early
        response = self._dispatch(req, session, match, fault)
        if fault is not None and fault.kind in ("error500", "truncated"):
            return self._break(response, fault)
        return response

    def _dispatch(
        self, req: Request, session: Session, match: re.Match[str] | None, fault: Fault | None
    ) -> Response:
        if req.path == "/search" and req.method == "GET":
            return self.search(req)
        if req.path == "/cases" and req.method == "GET":
            return self.case_list(req)
        if req.path == "/reports/cases.csv":
            return self._download(reports.report_csv, "text/csv; charset=utf-8", "csv")
        if req.path == "/reports/cases.xlsx":
            return self._download(
                reports.report_xlsx,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "xlsx",
            )
        if req.path == "/basket":
            return html(basket.held_page(session.held, session.token, added=False))
        if req.path == "/basket/save" and req.method == "POST":
            return self.save_all(req, session)
        if req.path == "/case/new":
            if req.method == "GET":
                return html(
                    self.screens.case_form(action="/case/new", values={}, token=session.token)
                )
            return self.save(req, session, None)
        if match is not None:
            ref, edit = match.group(1), bool(match.group(2))
            if req.method == "GET" and not edit:
                return self.view(ref, saved=req.query.get("saved") == "1")
            if edit and req.method == "GET":
                return self.edit_form(ref, session)
            if edit and req.method == "POST":
                return self.save(req, session, ref)
        return html(pages.forbidden("The page you asked for does not exist."), status=404)

    # -- faults -------------------------------------------------------------------------
    def _early_fault(self, fault: Fault, req: Request, session: Session) -> Response | None:
        if fault.kind == "error500":
            return html(pages.server_error(), status=500)
        if fault.kind == "locked":
            message = (
                "Record locked: this claim is being updated by another user (JSMITH on "
                "CFW-TERM12). Try again in a few minutes."
            )
            match = _CASE_PATH.match(req.path)
            if req.method == "GET" and match:
                case = self.store.get(match.group(1))
                if case is not None:
                    return html(pages.case_view(case, alert=message))
            return html(
                self.screens.case_form(
                    action=req.path, values=req.form, token=session.token, alert=message
                )
            )
        return None  # truncated: the page is built, then cut

    def _break(self, response: Response, fault: Fault) -> Response:
        if fault.kind == "error500":
            return html(pages.server_error(), status=500)
        if response.status in (301, 302, 303):
            return html(pages.server_error(), status=500)
        response.truncate_at = self.faults.cut(len(response.body))
        return response

    # -- login and sessions -------------------------------------------------------------
    def _session(self, req: Request) -> Session | None:
        sid = req.cookies.get(SESSION_COOKIE)
        if not sid:
            return None
        now = self.config.clock()
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                return None
            age_limit = self.config.max_session_age
            if now - session.last_seen > self.config.idle_timeout or (
                age_limit is not None and now - session.created > age_limit
            ):
                del self._sessions[sid]
                return None
            session.last_seen = now
            return session

    def _prelogin_token(self, req: Request) -> tuple[str, str]:
        """The anti-forgery token of this browser's pre-login cookie (a new pair if none)."""
        pre = req.cookies.get(PRELOGIN_COOKIE, "")
        with self._lock:
            if pre in self._prelogin:
                return pre, self._prelogin[pre]
            if len(self._prelogin) > 5000:
                self._prelogin.clear()
            pre, token = secrets.token_urlsafe(12), secrets.token_urlsafe(24)
            self._prelogin[pre] = token
        return pre, token

    def _login_page(self, req: Request, *, message: str = "", error: str = "") -> Response:
        pre, token = self._prelogin_token(req)
        response = html(pages.login(token, message=message, error=error))
        response.cookies.append(f"{PRELOGIN_COOKIE}={pre}; Path=/; HttpOnly; SameSite=Lax")
        return response

    def _login_required(self, req: Request) -> Response:
        return self._login_page(
            req, message="Your session has ended or you are not signed in. Please sign in again."
        )

    def login_page(self, req: Request) -> Response:
        message = "You have signed out." if "out" in req.query else ""
        return self._login_page(req, message=message)

    def login(self, req: Request) -> Response:
        with self._lock:
            expected = self._prelogin.get(req.cookies.get(PRELOGIN_COOKIE, ""))
        token = req.form.get("__RequestVerificationToken", "")
        if expected is None or not secrets.compare_digest(expected, token):
            return self._login_page(req, error="Your sign-in form had expired. Please try again.")
        user = req.form.get("txtUser", "").strip()
        password = self.config.users.get(user)
        ok = password is not None and secrets.compare_digest(password, req.form.get("txtPwd", ""))
        self.store.record_login(user, ok)
        if not ok:
            return self._login_page(req, error="Invalid user ID or password.")
        sid, now = secrets.token_urlsafe(24), self.config.clock()
        with self._lock:
            self._prelogin.pop(req.cookies.get(PRELOGIN_COOKIE, ""), None)
            self._sessions[sid] = Session(user, secrets.token_urlsafe(24), now, now)
        response = redirect("/main")
        response.cookies.append(f"{SESSION_COOKIE}={sid}; Path=/; HttpOnly; SameSite=Lax")
        return response

    def logout(self, req: Request) -> Response:
        sid = req.cookies.get(SESSION_COOKIE, "")
        with self._lock:
            self._sessions.pop(sid, None)
        return redirect("/login?out=1")

    # -- pages --------------------------------------------------------------------------
    def _counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for case in self.store.all_cases():
            counts[case.status] = counts.get(case.status, 0) + 1
        return counts

    def _page_of(self, items: list[Case], req: Request) -> tuple[list[Case], int, int]:
        size = self.config.page_size
        pages_total = max(math.ceil(len(items) / size), 1)
        try:
            page = min(max(int(req.query.get("page", "1")), 1), pages_total)
        except ValueError:
            page = 1
        return items[(page - 1) * size : page * size], page, pages_total

    def search(self, req: Request) -> Response:
        query = {k: req.query.get(k, "") for k in ("claim", "surname", "status")}
        if not req.query.get("go") or not (query["claim"] or query["surname"]):
            return html(self.screens.search(query, None, 1, 1))
        found = self.store.search(
            claim_ref=query["claim"], surname=query["surname"], status=query["status"]
        )
        chunk, page, total = self._page_of(list(found), req)
        return html(self.screens.search(query, chunk, page, total))

    def case_list(self, req: Request) -> Response:
        chunk, page, total = self._page_of(list(self.store.all_cases()), req)
        return html(pages.case_list(chunk, page, total))

    def view(self, ref: str, *, saved: bool) -> Response:
        case = self.store.get(ref)
        if case is None:
            return html(pages.forbidden(f"Case {ref} does not exist."), status=404)
        return html(pages.case_view(case, saved=saved))

    def edit_form(self, ref: str, session: Session) -> Response:
        case = self.store.get(ref)
        if case is None:
            return html(pages.forbidden(f"Case {ref} does not exist."), status=404)
        return html(
            self.screens.case_form(
                action=f"/case/{ref}/edit",
                values=pages.form_values(case),
                token=session.token,
                title=f"Edit case {ref}",
            )
        )

    def save(self, req: Request, session: Session, ref: str | None) -> Response:
        token = req.form.get("__RequestVerificationToken", "")
        if not secrets.compare_digest(token, session.token):
            return html(pages.forbidden("The security token of this form is not valid."), 403)
        action = f"/case/{ref}/edit" if ref else "/case/new"
        fields, errors = validate_case(req.form, today=self.config.today)
        if not errors and ref is None and self.config.save_later:
            fields["effective_text"] = req.form.get("txtEffDate", "")
            with self._lock:
                session.held.append(fields)
                held = list(session.held)
            return html(basket.held_page(held, session.token, added=True))
        if not errors:
            try:
                if ref is None:
                    case = self.store.create(fields, user=session.user)
                else:
                    case = self.store.update(ref, fields, user=session.user)
                if self.config.commit_delay:
                    time.sleep(self.config.commit_delay)
                return redirect(f"/case/{case.case_ref}?saved=1")
            except DuplicateCase as dup:
                errors = [
                    f"Duplicate case: {dup.case_ref} already records this {fields['change_type']} "
                    f"for claim {fields['claim_ref']} from {req.form.get('txtEffDate', '')}."
                ]
        title = {"title": f"Edit case {ref}"} if ref else {}
        return html(
            self.screens.case_form(
                action=action, values=req.form, token=session.token, errors=errors, **title
            )
        )

    def save_all(self, req: Request, session: Session) -> Response:
        """--save-later's Save all: write every held case; list them with their references."""
        token = req.form.get("__RequestVerificationToken", "")
        if not secrets.compare_digest(token, session.token):
            return html(pages.forbidden("The security token of this form is not valid."), 403)
        with self._lock:
            held, session.held = session.held, []
        saved: list[Case] = []
        duplicates: list[str] = []
        for fields in held:
            clean = {k: v for k, v in fields.items() if k != "effective_text"}
            try:
                saved.append(self.store.create(clean, user=session.user))
            except DuplicateCase as dup:
                self.store.record_fault("duplicate-held", req.method, req.path)
                duplicates.append(dup.case_ref)
        if self.config.commit_delay:
            time.sleep(self.config.commit_delay)
        return html(basket.saved_page(saved, duplicates))

    def _download(
        self, render: Callable[[list[Case]], bytes], content_type: str, ext: str
    ) -> Response:
        stamp = date.today().strftime("%Y%m%d")
        return Response(
            body=render(self.store.all_cases()),
            content_type=content_type,
            headers={"Content-Disposition": f'attachment; filename="cases_{stamp}.{ext}"'},
        )

    def static(self, path: str) -> Response:
        name = path.removeprefix("/static/")
        target = STATIC / name
        if "/" in name or not target.is_file():
            return html("not found", status=404)
        kind = "text/css" if name.endswith(".css") else "application/javascript"
        return Response(
            body=target.read_bytes(),
            content_type=f"{kind}; charset=utf-8",
            headers={"Cache-Control": "max-age=3600"},
        )
