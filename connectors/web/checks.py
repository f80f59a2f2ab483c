"""Read what a legacy page is saying and turn it into borough's errors.

One round trip per check: a script collects the document's HTTP status (the browser's own
navigation timing, so no response listener is needed), whether the sign-in form is shown,
whether the page finished rendering, the element that says one of the ``transient_texts`` (if any)
and any validation messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from borough.errors import BusinessRuleError, TransientError
from connectors.web.settings import WebSettings

if TYPE_CHECKING:
    from playwright.sync_api import Frame, Page

_INSPECT = """([login, ready, validation, patterns]) => {
  const one = (s) => (s ? document.querySelector(s) !== null : false);
  const body = document.body;
  let said = null;
  const all = body ? (body.textContent || "").toLowerCase() : "";
  const hit = patterns.find((p) => all.includes(p.toLowerCase()));
  if (hit) {
    const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if ((node.textContent || "").toLowerCase().includes(hit.toLowerCase())) {
        const owner = node.parentElement;
        said = ((owner ? owner.innerText : node.textContent) || "").trim();
        break;
      }
    }
    said = said || hit;
  }
  const entry = performance.getEntriesByType("navigation")[0];
  return {
    status: entry && entry.responseStatus ? entry.responseStatus : null,
    login: one(login),
    ready: ready ? one(ready) : true,
    said: said,
    messages: validation
      ? Array.from(document.querySelectorAll(validation))
          .map((e) => (e.innerText || "").trim()).filter((t) => t.length > 0)
      : [],
  };
}"""


MAX_SAID = 300


class SessionExpired(TransientError):
    """The app showed its sign-in page: the session ended (nothing was saved)."""


@dataclass(frozen=True)
class PageState:
    login: bool
    ready: bool
    said: str | None  #: the text of the element holding a transient message
    messages: list[str]
    status: int | None = None  #: HTTP status of the document, as the browser recorded it
    value: Any = None  #: what the caller's ``read`` script returned


def inspect(where: Page | Frame, settings: WebSettings, read: str | None = None) -> PageState:
    """The page's state; ``read`` (a JS function of no arguments) runs in the same trip."""
    script = _INSPECT
    if read is not None:
        script = f"(args) => ({{...({_INSPECT})(args), value: ({read})()}})"
    raw: dict[str, Any] = where.evaluate(
        script,
        [
            settings.login.form,
            settings.ready_selector,
            settings.validation_selector,
            settings.transient_texts,
        ],
    )
    return PageState(
        login=bool(raw["login"]),
        ready=bool(raw["ready"]),
        said=None if raw["said"] is None else str(raw["said"]),
        messages=[str(m) for m in raw["messages"]],
        status=int(raw["status"]) if raw.get("status") else None,
        value=raw.get("value"),
    )


def raise_for_page(
    state: PageState,
    settings: WebSettings,
    *,
    app: str,
    step: str,
    status: int | None = None,
    validation: bool = False,
) -> None:
    """Raise the error the page means; return if it is a complete, ordinary page."""
    if status is not None and status >= 500:
        raise TransientError(f"the app answered HTTP {status}", app=app, step=step)
    if state.login:
        raise SessionExpired("the session ended (sign-in page shown)", app=app, step=step)
    if state.said is not None:
        said = " ".join(state.said.split())
        said = said if len(said) <= MAX_SAID else said[: MAX_SAID - 3] + "..."
        raise TransientError(f"the app said: {said}", app=app, step=step)
    if not state.ready:
        raise TransientError(
            "the page did not finish rendering (half-rendered page)", app=app, step=step
        )
    if validation and state.messages:
        raise BusinessRuleError(
            "the app rejected the form: " + " ".join(_lines(state.messages)), app=app, step=step
        )


def _lines(messages: list[str]) -> list[str]:
    """Validation summaries often repeat a heading; keep each distinct line once."""
    seen: list[str] = []
    for message in messages:
        for raw in message.splitlines():
            line = raw.strip()
            if line and line not in seen:
                seen.append(line)
    return seen
