"""The secret store's file: read and checked strictly, written whole, under one lock.

keyrings.cryptfile rewrites its file in place (``open(path, 'w')``), so a reader can see
it half written and a second writer can lose the first one's value; and it takes a file
without its password reference for a new store. Here:

* every change happens under an exclusive ``flock`` on ``<store>.lock`` (beside the
  store), and re-reads the file after taking it;
* the file is replaced atomically: a private temporary file, fsync, rename, fsync of the
  folder. A new store is linked into place, so an existing file is never overwritten;
* the file starts with a ``[borough_store]`` section holding a SHA-256 over the exact
  bytes that follow, so an empty, truncated or altered file (one flipped byte is enough)
  is told apart from a wrong passphrase.

Stores written before this format (first section ``[keyring_2Dsetting]``) are read as
they are and gain the checksum the next time they are written.
"""

from __future__ import annotations

import base64
import binascii
import configparser
import fcntl
import hashlib
import io
import json
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from borough.errors import SecretsError, StoreDamagedError, StoreMissingError

STORE_SECTION = "borough_store"
STORE_FORMAT = "1"
#: cryptfile's settings section and options, as they appear in the file (escaped).
SETTINGS = "keyring_2Dsetting"
REFERENCE = "password_20reference"
LOCK_TIMEOUT_SECONDS = 300.0
RESTORE_HINT = (
    "restore it from its backup with `borough keys restore BACKUP_FILE` "
    "(docs/operations.md, 'Keys and the secret store')"
)


def damaged(file: Path, why: str) -> StoreDamagedError:
    return StoreDamagedError(
        f"the secret store {file} is damaged: {why}. borough will not replace it (new keys "
        f"would not match this installation's ledger and audit trail); {RESTORE_HINT}"
    )


def parse(text: str, source: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()
    parser.read_string(text, source=source)
    return parser


def header(body: bytes) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return f"[{STORE_SECTION}]\nformat = {STORE_FORMAT}\nsha256 = {digest}\n\n".encode()


def read_store(file: Path) -> configparser.RawConfigParser:
    """The store's content, checked; a clear error naming what is wrong when it is not."""
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise StoreMissingError(f"the secret store {file} does not exist") from None
    except OSError as exc:
        raise SecretsError(f"cannot read the secret store {file}: {exc.strerror}") from None
    if not data.strip():
        raise damaged(file, f"it is empty ({len(data)} bytes)")
    if data.startswith(f"[{STORE_SECTION}]".encode()):
        body = _checked_body(file, data)
    elif data.startswith(f"[{SETTINGS}]".encode()):
        body = data  # written before the checksum: read as it is, upgraded when written
    else:
        raise damaged(file, "it does not start like a secret store")
    try:
        parser = parse(body.decode("utf-8"), str(file))
    except UnicodeDecodeError as exc:
        raise damaged(file, f"it is not text (byte {exc.start} of {len(body)})") from None
    except configparser.Error as exc:
        first = str(exc).splitlines()[0]
        raise damaged(file, f"it cannot be read ({first}); it may be truncated") from None
    _check_settings(file, parser)
    return parser


def _checked_body(file: Path, data: bytes) -> bytes:
    """The bytes after the header, if they are exactly the bytes the header's sum covers."""
    lines = data.split(b"\n", 4)
    if len(lines) < 5 or not lines[2].startswith(b"sha256 = "):
        raise damaged(file, "its first lines (format and checksum) are incomplete")
    version = lines[1].removeprefix(b"format = ")
    if version.isdigit() and int(version) > int(STORE_FORMAT):
        raise SecretsError(
            f"the secret store {file} has format {version.decode()}; "
            f"this borough reads format {STORE_FORMAT} (upgrade borough)"
        )
    body = lines[4]
    if data[: len(data) - len(body)] != header(body):
        raise damaged(file, "its content does not match its checksum (truncated or altered)")
    return body


def _check_settings(file: Path, parser: configparser.RawConfigParser) -> None:
    """The password reference is there and well formed (so a bad MAC means the passphrase)."""
    for option in (REFERENCE, "scheme", "version"):
        if not parser.has_option(SETTINGS, option):
            raise damaged(file, f"its settings have no {option.replace('_20', ' ')!r}")
    try:
        payload = json.loads(base64.decodebytes(parser.get(SETTINGS, REFERENCE).encode()))
        parts = {name: base64.b64decode(payload[name], validate=True) for name in payload}
        whole = {"salt", "data", "mac", "nonce"} == set(parts) and len(parts["mac"]) == 16
    except (ValueError, binascii.Error, KeyError, TypeError, AttributeError):
        whole = False
    if not whole:
        raise damaged(file, "its password reference is malformed")


def render(parser: configparser.RawConfigParser) -> bytes:
    """The file's bytes: our header (format, checksum of the rest), then the keyring's."""
    out = io.StringIO()
    parser.write(out)
    body = out.getvalue().encode("utf-8")
    return header(body) + body


def write_store(file: Path, parser: configparser.RawConfigParser, *, new: bool = False) -> None:
    """Replace ``file`` atomically with ``parser``'s content (``new``: never replace one)."""
    write_private(file, render(parser), replace=not new)


def write_private(target: Path, data: bytes, *, replace: bool) -> None:
    """Write ``data`` to ``target`` (mode 0600) via a temporary file, fsync and rename.

    Without ``replace`` the file is linked into place and an existing ``target`` is an
    error (``FileExistsError``), never overwritten.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if replace:
            os.replace(tmp, target)
        else:
            os.link(tmp, target)
        sync_folder(target.parent)
    except FileExistsError:
        raise
    except OSError as exc:
        raise SecretsError(
            f"cannot write {target}: {exc.strerror or exc}; the file is unchanged"
        ) from None
    finally:
        with suppress(FileNotFoundError):
            tmp.unlink()


def sync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class _Held:
    guard: threading.RLock = field(default_factory=threading.RLock)
    depth: int = 0
    fd: int = -1


_held: dict[str, _Held] = {}
_held_guard = threading.Lock()


def lock_path(file: Path) -> Path:
    return file.with_name(file.name + ".lock")


@contextmanager
def store_lock(file: Path, *, timeout: float = LOCK_TIMEOUT_SECONDS) -> Iterator[None]:
    """Hold the store's exclusive lock (re-entrant in this process; other processes wait)."""
    key = str(file.absolute())
    with _held_guard:
        held = _held.setdefault(key, _Held())
    with held.guard:
        if held.depth == 0:
            held.fd = _acquire(lock_path(file), timeout)
        held.depth += 1
        try:
            yield
        finally:
            held.depth -= 1
            if held.depth == 0:
                fcntl.flock(held.fd, fcntl.LOCK_UN)
                os.close(held.fd)
                held.fd = -1


def _acquire(path: Path, timeout: float) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise SecretsError(
                    f"the secret store lock {path} has been held by another borough process "
                    f"for over {timeout:.0f} s; find it with `fuser {path}`"
                ) from None
            time.sleep(0.02)
