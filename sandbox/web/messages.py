"""What the casework application takes and gives: a parsed request, a response to send,
a signed-in session. The HTTP plumbing (sandbox/web/server.py) fills and sends them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SESSION_COOKIE = "CWSESSIONID"
PRELOGIN_COOKIE = "CWPRE"


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
