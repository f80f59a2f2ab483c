"""Caseflow's case pages: search and list (paged), view, the case form and its save, the
save-later basket's Save all, report downloads."""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from sandbox.web import basket, pages
from sandbox.web.config import SandboxConfig
from sandbox.web.messages import Request, Response, Session, html, redirect
from sandbox.web.store import Case, CaseStore, DuplicateCase
from sandbox.web.validation import validate_case


class CasePages:
    """The working pages of one app; ``screens()`` renders the version being served."""

    def __init__(
        self,
        config: SandboxConfig,
        store: CaseStore,
        lock: threading.Lock,
        screens: Callable[[], Any],
    ) -> None:
        self.config = config
        self.store = store
        self.lock = lock
        self.screens = screens

    def counts(self) -> dict[str, int]:
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
            return html(self.screens().search(query, None, 1, 1))
        found = self.store.search(
            claim_ref=query["claim"], surname=query["surname"], status=query["status"]
        )
        chunk, page, total = self._page_of(list(found), req)
        return html(self.screens().search(query, chunk, page, total))

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
            self.screens().case_form(
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
            with self.lock:
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
            self.screens().case_form(
                action=action, values=req.form, token=session.token, errors=errors, **title
            )
        )

    def save_all(self, req: Request, session: Session) -> Response:
        """--save-later's Save all: write every held case; list them with their references."""
        token = req.form.get("__RequestVerificationToken", "")
        if not secrets.compare_digest(token, session.token):
            return html(pages.forbidden("The security token of this form is not valid."), 403)
        with self.lock:
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

    def download(
        self, render: Callable[[list[Case]], bytes], content_type: str, ext: str
    ) -> Response:
        stamp = date.today().strftime("%Y%m%d")
        return Response(
            body=render(self.store.all_cases()),
            content_type=content_type,
            headers={"Content-Disposition": f'attachment; filename="cases_{stamp}.{ext}"'},
        )
