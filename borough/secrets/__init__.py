"""Secrets: an encrypted keyring file unlocked by a passphrase the operator controls."""

from __future__ import annotations

from borough.secrets.keys import KeyMaterial, load_key_material
from borough.secrets.store import SecretStore, open_store

__all__ = ["KeyMaterial", "SecretStore", "load_key_material", "open_store"]
