"""What ``borough keys show`` reports: a store's keys, and whether ledger and trail agree."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from borough.audit.chain import PUBLIC_KEY_NAME
from borough.config.loader import Config
from borough.errors import KeysMismatchError
from borough.host import host_name
from borough.ledger import Sealer, open_ledger
from borough.secrets.binding import recorded_fingerprint, trail_key_state
from borough.secrets.keys import short_fingerprint, stored_keys
from borough.secrets.passphrase import require_passphrase
from borough.secrets.store import SecretStore
from borough.secrets.writerkeys import public_pem, writer_key


@dataclass
class KeyReport:
    file: Path
    fingerprint: str | None = None
    public_key_pem: str | None = None
    checks: list[tuple[str, bool]] = field(default_factory=list)  # (what was found, agrees)

    @property
    def ok(self) -> bool:
        return self.fingerprint is not None and all(ok for _, ok in self.checks)


def key_report(config: Config, file: Path) -> KeyReport:
    """Open ``file`` (the store, or a backup) and compare its keys with this installation."""
    passphrase = require_passphrase(config.settings.secrets.passphrase_env)
    store = SecretStore.open(file, passphrase)
    keys = stored_keys(store)
    report = KeyReport(file)
    if keys is None:
        return report
    report.fingerprint = keys.fingerprint()
    ledger = open_ledger(config.ledger_url, Sealer(keys.ledger_key))
    host = host_name()
    try:
        recorded = recorded_fingerprint(ledger)
        if recorded == keys.fingerprint_v1():
            recorded = report.fingerprint  # recorded before signing keys were per machine
        registered = ledger.audit_writers.get(host)
        signing = writer_key(store, keys, ledger, config.paths.audit, host, register=False)
    except KeysMismatchError:
        signing = keys.signing_key
        report.checks.append(
            (f"the ledger registers ANOTHER audit signing key for this machine ({host})", False)
        )
    finally:
        ledger.close()
    keys = replace(keys, signing_key=signing)
    report.public_key_pem = keys.public_key_pem()
    if registered is not None and public_pem(signing) == registered.public_key:
        report.checks.append((f"the ledger registers this signing key for {host}", True))
    if recorded is None:
        report.checks.append((f"the ledger {ledger.url} records no keys yet", True))
    elif recorded == report.fingerprint:
        report.checks.append((f"the ledger {ledger.url} records these keys", True))
    else:
        other = short_fingerprint(recorded)
        report.checks.append((f"the ledger {ledger.url} records OTHER keys: {other}", False))
    pub = config.paths.audit / PUBLIC_KEY_NAME
    state = trail_key_state(keys, pub)
    texts = {
        "absent": f"{pub} is not written yet",
        "agrees": f"{pub} is this signing key",
        "differs": f"{pub} is ANOTHER key",
    }
    report.checks.append((texts[state], state != "differs"))
    return report
