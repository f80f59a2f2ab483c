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
from borough.evidence import EvidenceStore
from borough.ledger import Ledger, Sealer, open_ledger
from borough.secrets import KeyMaterial, SecretStore, load_key_material, open_store


@dataclass
class Runtime:
    """Everything a run, an operator command or the dashboard needs, wired together."""

    config: Config
    secrets: SecretStore
    keys: KeyMaterial
    redactor: Redactor
    tokenizer: Tokenizer
    actor: str | None = None

    @property
    def paths(self) -> Paths:
        return self.config.paths

    @cached_property
    def ledger(self) -> Ledger:
        return open_ledger(self.config.ledger_url, Sealer(self.keys.ledger_key))

    @cached_property
    def sink(self) -> ChainSink:
        return ChainSink(
            self.paths.audit,
            self.keys.signing_key,
            checkpoint_every=self.config.settings.audit.checkpoint_every,
            redact=self.redactor.redact,
            anchors=lambda: self.ledger.anchors,
        )

    @cached_property
    def trail(self) -> AuditTrail:
        return AuditTrail.open(self.sink, actor=self.actor)

    def evidence(self, run_id: str) -> EvidenceStore:
        return EvidenceStore(self.paths.logs, run_id, self.redactor)

    def close(self) -> None:
        if "ledger" in self.__dict__:
            self.ledger.close()
        if "sink" in self.__dict__:
            self.sink.close()


def open_runtime(
    config: Config | None = None,
    *,
    actor: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Runtime:
    """Unlock the secret store (passphrase from the environment) and wire the runtime."""
    config = config or load_config()
    config.paths.ensure()
    redactor = Redactor(config.settings.audit.redact_patterns)
    store = open_store(
        config.secrets_file,
        passphrase_env=config.settings.secrets.passphrase_env,
        env=env,
        on_value=redactor.add_secret,
    )
    keys = load_key_material(store)
    tokenizer = Tokenizer(keys.token_key)
    redactor.set_tokenizer(tokenizer)
    return Runtime(config, store, keys, redactor, tokenizer, actor)
