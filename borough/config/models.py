"""The pydantic models behind each YAML file in ``config/``."""

from __future__ import annotations

import codecs
import ipaddress
import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

#: When runs check an app's declared screens before their first item (the drift preflight).
Preflight = Literal["scheduled", "always", "never"]
#: Keys that would put a credential in clear into a config file.
_CREDENTIAL_KEYS = frozenset({"password", "passwd", "secret", "token", "api_key", "apikey"})
_LABEL = re.compile(r"^[a-z][a-z0-9_]{1,40}$")


EvidenceRole = Literal["operator", "auditor", "admin"]


class Strict(BaseModel):
    """Base for config models: unknown keys are errors, inputs never echoed in messages."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True, frozen=True)


class LedgerSettings(Strict):
    """``ledger:`` in borough.yaml: where the ledger is and how long a silent run owns items.

    A run renews its lease every ``heartbeat_seconds``. A run of another host silent for
    ``lease_seconds + adopt_grace_seconds`` is presumed dead and its items are adopted; the
    run itself stops before any further intent once it cannot prove its lease. A run of
    this host is presumed dead only when its process is gone.
    """

    url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite in the data folder"
    )
    lease_seconds: float = Field(default=300, ge=1, description="how long a silent run owns items")
    heartbeat_seconds: float = Field(default=20, gt=0, description="how often a run renews")
    adopt_grace_seconds: float = Field(
        default=60,
        ge=0,
        description="extra wait, after the lease, before another host adopts a silent run's items",
    )

    @field_validator("heartbeat_seconds")
    @classmethod
    def _heartbeat_within_lease(cls, value: float, info: ValidationInfo) -> float:
        lease = info.data.get("lease_seconds")
        if lease is not None and value >= lease:
            raise ValueError(
                f"heartbeat_seconds ({value:g}) must be below lease_seconds ({lease:g}): "
                "a run must renew its lease before it runs out"
            )
        return value

    def warnings(self) -> list[str]:
        """Legal but unsafe values, for ``borough config check``."""
        found = []
        if self.heartbeat_seconds * 3 > self.lease_seconds:
            found.append(
                f"ledger.heartbeat_seconds ({self.heartbeat_seconds:g}) is not well below "
                f"ledger.lease_seconds ({self.lease_seconds:g}): one slow renewal can cost a "
                "run its lease; keep the heartbeat at a third of the lease or less"
            )
        if self.lease_seconds < 30:
            found.append(
                f"ledger.lease_seconds is {self.lease_seconds:g}: a run paused or starved for "
                "that long (swap, VM pause, busy database) stops itself; 300 suits production"
            )
        if self.adopt_grace_seconds < 2 * self.heartbeat_seconds:
            found.append(
                f"ledger.adopt_grace_seconds ({self.adopt_grace_seconds:g}) is below two "
                "heartbeats: a run that proved its lease a moment ago may have its items "
                "adopted while it saves; see docs/architecture.md (self-fencing runs)"
            )
        return found


class AuditSettings(Strict):
    checkpoint_every: int = Field(default=200, ge=1, description="sign the chain every N records")
    retention_days: int = Field(default=2190, ge=1, description="purge records older than this")
    redact_patterns: list[str] = Field(
        default_factory=list, description="extra regular expressions to redact"
    )
    segment_mb: int = Field(
        default=64, ge=1, le=4096, description="close the live audit file at this size (MiB)"
    )
    segment_daily: bool = Field(
        default=True, description="also close it at the first record of each UTC day"
    )
    trails: dict[str, str] = Field(
        default_factory=dict,
        description="other runner machines' audit folders reachable from here (host: path)",
    )


class SecretsSettings(Strict):
    file: str | None = Field(default=None, description="encrypted keyring file")
    passphrase_env: str = "BOROUGH_SECRETS_PASSPHRASE"


class LoggingSettings(Strict):
    level: Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR"] = "INFO"
    diagnose: bool = Field(default=False, description="loguru variable dumps: never in production")


class DashboardSettings(Strict):
    """``dashboard:`` in borough.yaml: where the web UI listens and how it guards sign-ins."""

    host: str = Field(default="127.0.0.1", description="address to listen on")
    port: int = Field(default=8470, ge=1, le=65535)
    idle_minutes: int = Field(default=30, ge=1, description="sign out after this long idle")
    max_session_hours: int = Field(default=12, ge=1, description="sign out after this long")
    four_eyes: bool = Field(
        default=False,
        description="manual overrides need a second operator's approval (dashboard and CLI)",
    )
    evidence_roles: list[EvidenceRole] = Field(
        default_factory=lambda: list[EvidenceRole](["operator"]),
        min_length=1,
        description="roles that may decrypt and view evidence (always with a purpose, audited)",
    )
    login_max_failures: int = Field(
        default=5, ge=1, description="failed sign-ins to an account before they are slowed"
    )
    login_lockout_minutes: int = Field(
        default=15, ge=1, description="how long failed sign-ins are remembered"
    )
    login_max_delay_seconds: int = Field(
        default=30, ge=1, le=600, description="the longest a sign-in is ever held back"
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="addresses or networks of reverse proxies whose X-Forwarded-For is believed",
    )
    secure_cookies: bool = Field(default=False, description="true when served behind HTTPS")

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                ipaddress.ip_network(value, strict=False)
            except ValueError:
                raise ValueError(
                    f"{value!r} is not an IP address or network (e.g. 10.0.0.5 or 10.0.0.0/24)"
                ) from None
        return values


class PathSettings(Strict):
    logs: str = "logs"
    data: str = "var"


class BoroughSettings(Strict):
    """``config/borough.yaml``."""

    council: str = "Example Borough Council"
    paths: PathSettings = PathSettings()
    ledger: LedgerSettings = LedgerSettings()
    audit: AuditSettings = AuditSettings()
    secrets: SecretsSettings = SecretsSettings()
    logging: LoggingSettings = LoggingSettings()
    dashboard: DashboardSettings = DashboardSettings()


class AppConfig(BaseModel):
    """One legacy application in ``config/apps.yaml``.

    Kind-specific keys are checked by the connector of that kind.
    """

    model_config = ConfigDict(extra="allow", hide_input_in_errors=True, frozen=True)

    kind: str = Field(
        description="connector kind: web, desktop, files (installed), or module:Class"
    )
    description: str = ""
    credential: str | None = Field(default=None, description="name of a secret in the store")
    max_sessions: int | None = Field(default=None, ge=1, description="licence seats / logins")
    preflight: Preflight = Field(
        default="scheduled",
        description="when runs check the app's declared screens before their first item",
    )
    identifiers: dict[str, str] = Field(
        default_factory=dict,
        description="the app's own identifier formats (label: regular expression), e.g. "
        "council_tax_account: 'CT\\d{7}'; shown as tokens in every log, reason and evidence",
    )

    @field_validator("identifiers")
    @classmethod
    def _identifier_patterns(cls, values: dict[str, str]) -> dict[str, str]:
        for label, pattern in values.items():
            if not _LABEL.match(label):
                raise ValueError(
                    f"identifier label {label!r} must be lower case letters, digits and _ "
                    "(e.g. council_tax_account)"
                )
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise ValueError(
                    f"identifier {label!r}: not a regular expression ({exc})"
                ) from None
            if compiled.search("") is not None or compiled.search(" ") is not None:
                raise ValueError(
                    f"identifier {label!r}: the pattern matches empty text; make it match "
                    "only the identifier (e.g. 'CT\\d{7}')"
                )
        return values

    @model_validator(mode="after")
    def _no_credentials_in_clear(self) -> AppConfig:
        for key in self.model_extra or {}:
            if key.lower() in _CREDENTIAL_KEYS:
                raise ValueError(
                    f"{key!r} must not be written in config: store it with "
                    f"`borough secrets set NAME` and write `credential: NAME`"
                )
        return self

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class AppsFile(Strict):
    """``config/apps.yaml``."""

    apps: dict[str, AppConfig] = Field(default_factory=dict)


class RetryPolicy(Strict):
    """How often and how patiently a bot retries an item after a :class:`TransientError`."""

    attempts: int = Field(default=3, ge=1, le=50, description="tries per item, first included")
    backoff_seconds: float = Field(default=2.0, ge=0)
    backoff_factor: float = Field(default=2.0, ge=1)
    max_backoff_seconds: float = Field(default=60.0, ge=0)

    def delay(self, attempt: int) -> float:
        """Seconds to wait before try number ``attempt + 1``."""
        raw = self.backoff_seconds * self.backoff_factor ** max(attempt - 1, 0)
        return float(min(raw, self.max_backoff_seconds))


class InputLimits(Strict):
    """How large an input file may be before it is refused unread (``limits:`` of an input).

    The defaults take any real council export; a bigger one is allowed by raising a limit
    for that input only. A spreadsheet is a zip: its size unpacked and its compression
    ratio are checked before a byte of it is parsed (a 1 MB file can unpack to 1 GB).
    """

    file_mb: float = Field(default=50, gt=0, description="size of the file on disk")
    unpacked_mb: float = Field(default=200, gt=0, description="xlsx: all members unpacked")
    compression_ratio: float = Field(
        default=100, ge=1, description="xlsx: unpacked/packed size of any member over 1 MB"
    )
    members: int = Field(default=1000, ge=1, description="xlsx: files inside the zip")
    cells: int = Field(default=10_000_000, ge=1, description="rows x columns read")


class InputSpec(Strict):
    """An input in its long form: ``csv: {path: exports/ctr.csv, encoding: cp1252}``."""

    path: str = Field(description="the file, relative to BOROUGH_HOME")
    encoding: str | None = Field(
        default=None, description="CSV text encoding, e.g. cp1252 (default: UTF-8)"
    )
    sheet: str | int | None = Field(
        default=None, description="Excel sheet by name or 0-based position (default: first)"
    )
    limits: InputLimits = InputLimits()

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(
                    f"unknown encoding {value!r}; e.g. utf-8, cp1252 (Windows), latin-1"
                ) from None
        return value


class BotConfig(Strict):
    """``config/bots/<name>.yaml``."""

    bot: str = Field(description="the bot's name")
    entry: str | None = Field(
        default=None, description="module:Class, when the bot is not installed as an entry point"
    )
    description: str = ""
    inputs: dict[str, InputSpec] = Field(
        default_factory=dict, description="name: path, or name: {path, encoding, sheet, limits}"
    )
    apps: list[str] = Field(default_factory=list, description="apps in config/apps.yaml it uses")
    secrets: list[str] = Field(
        default_factory=list,
        description="secrets it reads with ctx.secret() besides its apps' credentials "
        "(a scheduled run is handed these and no others)",
    )
    retry: RetryPolicy | None = None
    check_first: bool | None = Field(
        default=None,
        description="ask find_existing before process() for items that start untouched "
        "(default: the bot's check_first)",
    )
    save_every: int | None = Field(
        default=None,
        ge=0,
        le=10_000,
        description="items per save for apps that keep changes until an explicit save "
        "(default: the bot's save_every; 0: no batches)",
    )
    batch: int | None = Field(
        default=None,
        ge=1,
        le=1_000,
        description="items claimed, recorded and finished together (one audit group and one "
        "ledger write each way; > 1 needs find_existing; default: the bot's batch, 1)",
    )
    max_run_minutes: float | None = Field(default=None, gt=0)
    preflight: Preflight | None = Field(
        default=None,
        description="when this bot's runs check their apps' screens first (default: each app's)",
    )
    settings: dict[str, Any] = Field(default_factory=dict)
    kind: Literal["python", "recipe"] = Field(
        default="python",
        description="python: a Bot class (entry: or installed); recipe: the steps in recipe:",
    )
    recipe: dict[str, Any] | None = Field(
        default=None, description="kind: recipe: input, columns, steps (docs/recipes.md)"
    )
    manual_minutes_per_item: float | None = Field(
        default=None,
        gt=0,
        le=24 * 60,
        description="how long an officer takes over one item by hand (benefit reporting)",
    )
    manual_error_rate: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="share of items an officer keys wrongly by hand, e.g. 0.03 (benefit reporting)",
    )

    @field_validator("inputs", mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        """``csv: exports/x.csv`` is ``csv: {path: exports/x.csv}``."""
        if isinstance(value, dict):
            return {k: {"path": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @field_validator("entry")
    @classmethod
    def _entry_shape(cls, value: str | None) -> str | None:
        if value is not None and ":" not in value:
            raise ValueError("entry must look like 'package.module:ClassName'")
        return value
