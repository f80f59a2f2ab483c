"""Evidence files: screenshots shown inline, everything else downloaded — only files under
``logs/evidence``, never a path outside it, and every fetch recorded in the audit trail."""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import FileResponse

from borough.dashboard.security import OPERATOR_OR_AUDITOR, dashboard
from borough.dashboard.store import Session
from borough.dashboard.web import render
from borough.evidence import DOWNLOADS

router = APIRouter()

_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
IMAGES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}


def resolve_evidence(root: Path, relative: str) -> Path:
    """``relative`` (``<run>/<item token>/<file>``) inside ``root``, or 404.

    Each part must be a plain name (no ``..``, no leading dot, no separators), and the
    resolved file must still lie under ``root`` (a symlink out of it is refused).
    """
    parts = relative.split("/")
    if not 1 <= len(parts) <= 4 or not all(_PART.match(p) for p in parts):
        raise HTTPException(404)
    if parts[1:2] == [DOWNLOADS]:  # downloaded reports are raw input, personal data in clear
        raise HTTPException(404)
    base = root.resolve()
    path = root.joinpath(*parts)
    if path.is_symlink() or not path.is_file():
        raise HTTPException(404)
    if not path.resolve().is_relative_to(base):
        raise HTTPException(404)
    return path


@router.get("/evidence/view/{relative:path}")
def view(
    request: Request, relative: str, session: Annotated[Session, Depends(OPERATOR_OR_AUDITOR)]
) -> Response:
    path = resolve_evidence(dashboard(request).runtime.paths.evidence, relative)
    if path.suffix.lower() not in IMAGES:
        raise HTTPException(404)
    run_id, _, rest = relative.partition("/")
    return render(
        request,
        session,
        "pages/evidence.html",
        title=f"Evidence {path.name}",
        relative=relative,
        name=path.name,
        run_id=run_id,
        folder=rest.rpartition("/")[0],
    )


@router.get("/evidence/file/{relative:path}")
def fetch(
    request: Request, relative: str, session: Annotated[Session, Depends(OPERATOR_OR_AUDITOR)]
) -> Response:
    dash = dashboard(request)
    path = resolve_evidence(dash.runtime.paths.evidence, relative)
    image = IMAGES.get(path.suffix.lower())
    run_id = relative.partition("/")[0]
    dash.trail(session.user).emit(
        "evidence.viewed",
        detail={"path": f"evidence/{relative}", "run": run_id, "inline": image is not None},
    )
    if image is not None:
        response = FileResponse(path, media_type=image, content_disposition_type="inline")
    else:
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        response = FileResponse(
            path,
            media_type="application/octet-stream" if kind.startswith("text/") else kind,
            filename=path.name,
        )
    # Whatever the file holds (page HTML, scripts), the browser must not run it.
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
    return response
