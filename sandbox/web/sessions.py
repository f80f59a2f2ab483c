"""Signing in to Caseflow: the sign-in pages with their anti-forgery token (bound to a
pre-login cookie), sessions with idle and age limits, signing out."""

from __future__ import annotations

import secrets
import threading

from sandbox.web import pages
from sandbox.web.config import SandboxConfig
from sandbox.web.messages import (
    PRELOGIN_COOKIE,
    SESSION_COOKIE,
    Request,
    Response,
    Session,
    html,
    redirect,
)
from sandbox.web.store import CaseStore


class Sessions:
    """The signed-in sessions of one app; ``lock`` also guards their unsaved work."""

    def __init__(self, config: SandboxConfig, store: CaseStore) -> None:
        self.config = config
        self.store = store
        self.lock = threading.Lock()
        self._sessions: dict[str, Session] = {}
        self._prelogin: dict[str, str] = {}

    def current(self, req: Request) -> Session | None:
        sid = req.cookies.get(SESSION_COOKIE)
        if not sid:
            return None
        now = self.config.clock()
        with self.lock:
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
        with self.lock:
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

    def login_required(self, req: Request) -> Response:
        return self._login_page(
            req, message="Your session has ended or you are not signed in. Please sign in again."
        )

    def login_page(self, req: Request) -> Response:
        message = "You have signed out." if "out" in req.query else ""
        return self._login_page(req, message=message)

    def login(self, req: Request) -> Response:
        with self.lock:
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
        with self.lock:
            self._prelogin.pop(req.cookies.get(PRELOGIN_COOKIE, ""), None)
            self._sessions[sid] = Session(user, secrets.token_urlsafe(24), now, now)
        response = redirect("/main")
        response.cookies.append(f"{SESSION_COOKIE}={sid}; Path=/; HttpOnly; SameSite=Lax")
        return response

    def logout(self, req: Request) -> Response:
        sid = req.cookies.get(SESSION_COOKIE, "")
        with self.lock:
            self._sessions.pop(sid, None)
        return redirect("/login?out=1")
