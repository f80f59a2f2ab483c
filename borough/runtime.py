"""The composition root: config, secrets, keys, redaction, ledger and audit trail, opened once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from borough.audit.chain import ChainSink
from borough.audit.redact import Redactor
from borough.audit.tokens import Tokenizer
from borough.audit.trail import AuditTrail
from borough.config.loader import Config, load_config
from borough.config.paths import Paths
from borough.evidence import EvidenceStore, FileCipher
from borough.ledger import Ledger
from borough.secrets import KeyMaterial, SecretStore
from borough.secrets.binding import open_handed, unlock_installation
from borough.secrets.handed import RunBundle
from borough.secrets.passphrase import Handover, require_passphrase, take_bundle


@dataclass
class Runtime:
    """Everything a run, an operator command or the dashboard needs, wired together."""

    config: Config
    secrets: SecretStore
    keys: KeyMaterial
    ledger: Ledger
    redactor: Redactor
    tokenizer: Tokenizer
    actor: str | None = None

    @property
    def paths(self) -> Paths:
        return self.config.paths

    @property
    def handover(self) -> Handover:
        """How this process starts a run's process warm: through a pipe (not the env), the
        keys and the secrets its bot needs, so the run unlocks nothing itself."""
        name = self.config.settings.secrets.passphrase_env
        return Handover(name, self.secrets.reveal_passphrase(), warm=self.run_bundle)

    def run_bundle(self, bot: str) -> str | None:
        """What a run of ``bot`` is handed (``None``: its config cannot be read, so the run
        gets the passphrase and reports the problem itself)."""
        from borough.errors import BoroughError
        from borough.secrets.handed import bundle_for, secrets_for

        try:
            names = secrets_for(self.config, bot)
        except BoroughError:
            return None
        return bundle_for(self.secrets, self.keys.dumps(), names).dumps()

    @cached_property
    def sink(self) -> ChainSink:
        return ChainSink(
            self.paths.audit,
            self.keys.signing_key,
            checkpoint_every=self.config.settings.audit.checkpoint_every,
            redact=self.redactor.redact,
            anchors=lambda: self.ledger.anchors,
            segment_bytes=self.config.settings.audit.segment_mb * 1024 * 1024,
            segment_daily=self.config.settings.audit.segment_daily,
            index=lambda: self.ledger.audit_index,
        )

    @cached_property
    def trail(self) -> AuditTrail:
        return AuditTrail.open(self.sink, actor=self.actor)

    @cached_property
    def evidence_cipher(self) -> FileCipher:
        """Seals evidence files under a key derived from the ledger key (no new key)."""
        return FileCipher(self.keys.ledger_key)

    def evidence(self, run_id: str) -> EvidenceStore:
        return EvidenceStore(self.paths.logs, run_id, self.redactor, self.evidence_cipher)

    def close(self) -> None:
        """The trail first: closing it sends its last audit index rows to the ledger, which
        would otherwise open a connection on an engine already disposed (and leak it)."""
        try:
            if "sink" in self.__dict__:
                self.sink.close()
        finally:
            self.ledger.close()


def app_identifiers(config: Config) -> list[tuple[str, str]]:
    """Every identifier format the apps declare (``identifiers:`` in apps.yaml), once each."""
    return sorted({pair for app in config.apps.values() for pair in app.identifiers.items()})


def open_runtime(
    config: Config | None = None,
    *,
    actor: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Runtime:
    """Unlock the secret store, check its keys against the ledger and trail, wire it all.

    The passphrase comes from the environment variable the settings name; it is removed
    from this process's environment first, so nothing this process starts inherits it
    (:mod:`borough.secrets.passphrase`). A run started by a scheduler is handed its keys
    and secrets through a pipe instead, and unlocks nothing (:mod:`borough.secrets.handed`).
    """
    config = config or load_config()
    handed = take_bundle(config.settings.secrets.passphrase_env) if env is None else None
    passphrase = "" if handed else require_passphrase(config.settings.secrets.passphrase_env, env)
    config.paths.ensure()
    redactor = Redactor(config.settings.audit.redact_patterns)
    for label, pattern in app_identifiers(config):
        redactor.add_identifier(label, pattern)
    if handed:
        unlocked = open_handed(config, RunBundle.loads(handed), on_value=redactor.add_secret)
    else:
        redactor.add_secret(passphrase)
        unlocked = unlock_installation(config, passphrase, on_value=redactor.add_secret)
    tokenizer = Tokenizer(unlocked.keys.token_key)
    redactor.set_tokenizer(tokenizer)
    return Runtime(
        config, unlocked.store, unlocked.keys, unlocked.ledger, redactor, tokenizer, actor
    )
