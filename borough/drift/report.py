"""What a drift check found: per declared element, whether it still matches, and if not the
nearest candidates on the screen, the best of which is the proposed fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Status = Literal["ok", "missing", "ambiguous", "unreachable", "unchecked"]
#: statuses that mean the declaration no longer matches the app
BROKEN: frozenset[str] = frozenset({"missing", "ambiguous", "unreachable"})
#: the best candidate is proposed at this score, or at PROPOSE_AT if MARGIN ahead of the next
SURE = 0.6
PROPOSE_AT = 0.4
MARGIN = 0.05
Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Candidate:
    """Something on the screen that may be what a broken locator meant."""

    locator: str  #: the locator that finds it (checked to find exactly it)
    score: float  #: 0..1, how much it resembles what the locator used to find
    description: str  #: what it is, e.g. 'textbox "Claim number"'
    #: with the finding's ``renames``: the text those mapping keys become (a window title)
    rename_to: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"locator": self.locator, "score": round(self.score, 3), "about": self.description}


@dataclass(frozen=True)
class Finding:
    """One declared element (or a screen's reach) and what the check saw."""

    screen: str
    element: str
    locator: str
    status: Status
    detail: str = ""
    candidates: tuple[Candidate, ...] = ()
    #: where the locator is declared, as a key path inside the app's entry in apps.yaml
    path: Path = ()
    #: mapping keys in the app's entry that hold the same text and change with it
    renames: tuple[Path, ...] = ()
    #: what the element looked like when it matched (kept as the baseline for proposals)
    fingerprint: dict[str, Any] | None = None

    @property
    def broken(self) -> bool:
        return self.status in BROKEN

    @property
    def proposal(self) -> Candidate | None:
        """The proposed fix: the best candidate, if it is close enough and clearly best."""
        if not self.broken or not self.candidates:
            return None
        best = self.candidates[0]
        if best.score >= SURE:
            return best
        runner_up = self.candidates[1].score if len(self.candidates) > 1 else 0.0
        return best if best.score >= PROPOSE_AT and best.score - runner_up >= MARGIN else None

    @property
    def where(self) -> str:
        return f"{self.screen} / {self.element}"

    def as_dict(self) -> dict[str, Any]:
        proposal = self.proposal
        return {
            "screen": self.screen,
            "element": self.element,
            "locator": self.locator,
            "status": self.status,
            "detail": self.detail,
            "declared_at": list(self.path),
            "proposal": proposal.as_dict() if proposal else None,
            "candidates": [c.as_dict() for c in self.candidates],
        }


def element_path(screen: str, element: str) -> Path:
    """Where an element's locator is declared inside the app's entry in apps.yaml."""
    return ("screens", screen, "elements", element)


def not_visited(name: str, elements: dict[str, str], why: str) -> list[Finding]:
    """Findings for a screen the check did not look at (``after ...``, or not reached)."""
    return [
        Finding(name, el, loc, "unchecked", why, path=element_path(name, el))
        for el, loc in elements.items()
    ]


def unreached(name: str, elements: dict[str, str], reach: str, error: str) -> list[Finding]:
    """A screen its reach no longer opens: that is drift too; its elements go unchecked."""
    lost = Finding(
        name,
        "(reach)",
        reach,
        "unreachable",
        detail=f"could not open the screen: {error}",
        path=("screens", name, "reach"),
    )
    return [lost, *not_visited(name, elements, "screen not reached")]


@dataclass
class DriftReport:
    """The result of checking one app's declared screens."""

    app: str
    kind: str
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None  #: the check could not be completed (not drift)
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def broken(self) -> list[Finding]:
        return [f for f in self.findings if f.broken]

    @property
    def status(self) -> str:
        """ok | drift | error (could not check)."""
        if self.error is not None:
            return "error"
        return "drift" if self.broken else "ok"

    @property
    def checked(self) -> list[Finding]:
        return [f for f in self.findings if f.status != "unchecked"]

    def summary(self) -> str:
        """One sentence for a run's error, a notice or a dashboard row."""
        if self.error is not None:
            return f"app {self.app!r} could not be checked: {self.error}"
        broken = self.broken
        if not broken:
            return f"app {self.app!r}: all {len(self.checked)} declared locators match"
        parts = []
        for finding in broken:
            proposal = finding.proposal
            fix = f" -> {proposal.locator!r}" if proposal else " (no proposal)"
            parts.append(f"{finding.where} {finding.locator!r}{fix}")
        return (
            f"app {self.app!r} has drifted: {len(broken)} of {len(self.checked)} declared "
            f"locators no longer match ({'; '.join(parts)})"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "kind": self.kind,
            "status": self.status,
            "checked_at": self.checked_at.isoformat(),
            "error": self.error,
            "summary": self.summary(),
            "findings": [f.as_dict() for f in self.findings],
        }


def finding_from(data: dict[str, Any]) -> Finding:
    """A finding back from :meth:`Finding.as_dict` (the stored report)."""
    return Finding(
        screen=data["screen"],
        element=data["element"],
        locator=data["locator"],
        status=data["status"],
        detail=data.get("detail", ""),
        candidates=tuple(
            Candidate(c["locator"], float(c["score"]), c.get("about", ""))
            for c in data.get("candidates", [])
        ),
        path=tuple(data.get("declared_at", ())),
    )


def report_from(data: dict[str, Any]) -> DriftReport:
    return DriftReport(
        app=data["app"],
        kind=data.get("kind", ""),
        findings=[finding_from(f) for f in data.get("findings", [])],
        error=data.get("error"),
        checked_at=datetime.fromisoformat(data["checked_at"]),
    )
