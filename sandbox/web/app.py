"""The casework application itself: routes and faults (sign-in in sandbox/web/sessions.py,
the case pages in sandbox/web/cases.py). No HTTP plumbing here."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandbox.web import basket, nextver, pages, reports
from sandbox.web.cases import CasePages
from sandbox.web.config import SandboxConfig
from sandbox.web.faults import Fault, FaultPlan
from sandbox.web.messages import Request, Response, Session, html, redirect
from sandbox.web.sessions import Sessions
from sandbox.web.store import CaseStore

STATIC = Path(__file__).parent / "static"
_CASE_PATH = re.compile(r"^/case/(CW-\d{6})(/edit)?$")


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
        self.sessions = Sessions(config, self.store)
        self.cases = CasePages(config, self.store, self.sessions.lock, lambda: self.screens)

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
            ("GET", "/login"): self.sessions.login_page,
            ("POST", "/login"): self.sessions.login,
            ("GET", "/logout"): self.sessions.logout,
        }
        if req.path == "/favicon.ico":
            return html("not found", status=404)
        if req.path.startswith("/static/"):
            return self.static(req.path)
        if req.path == "/":
            return redirect("/main" if self.sessions.current(req) else "/login")
        if (req.method, req.path) in public:
            return public[(req.method, req.path)](req)
        session = self.sessions.current(req)
        if session is None:
            return self.sessions.login_required(req)
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
            "/home": lambda: pages.home(session.user, self.cases.counts()),
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
        cases = self.cases
        if req.path == "/search" and req.method == "GET":
            return cases.search(req)
        if req.path == "/cases" and req.method == "GET":
            return cases.case_list(req)
        if req.path == "/reports/cases.csv":
            return cases.download(reports.report_csv, "text/csv; charset=utf-8", "csv")
        if req.path == "/reports/cases.xlsx":
            return cases.download(
                reports.report_xlsx,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "xlsx",
            )
        if req.path == "/basket":
            return html(basket.held_page(session.held, session.token, added=False))
        if req.path == "/basket/save" and req.method == "POST":
            return cases.save_all(req, session)
        if req.path == "/case/new":
            if req.method == "GET":
                return html(
                    self.screens.case_form(action="/case/new", values={}, token=session.token)
                )
            return cases.save(req, session, None)
        if match is not None:
            ref, edit = match.group(1), bool(match.group(2))
            if req.method == "GET" and not edit:
                return cases.view(ref, saved=req.query.get("saved") == "1")
            if edit and req.method == "GET":
                return cases.edit_form(ref, session)
            if edit and req.method == "POST":
                return cases.save(req, session, ref)
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
