"""Secrets: an encrypted keyring file unlocked by a passphrase the operator controls."""

from __future__ import annotations

from borough.secrets.keys import KeyMaterial, stored_keys
from borough.secrets.store import SecretStore

__all__ = ["KeyMaterial", "SecretStore", "stored_keys"]
