"""A throw-away IMAP server for tests: Debian's dovecot, as a non-root user, in a temp dir.

Users come from a passwd-file, mail lives in a maildir under the temp dir, the server
listens on a free port of 127.0.0.1 without TLS (plain LOGIN allowed on localhost only).
As root the server runs as ``nobody`` (through ``runuser``), so it never holds root.
Messages are delivered the way a mail server would leave them: IMAP ``APPEND``.
"""

from __future__ import annotations

import grp
import imaplib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from tests.support.receivers import free_port

DOVECOT = "/usr/sbin/dovecot"
USER, PASSWORD = "council-inbox", "Inbox £ pass 1"
RUN_AS = "nobody"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
mail_location = maildir:{base}/mail/%u
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = 0
first_valid_gid = 0
mail_max_userip_connections = 200
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={base}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0600
  }}
  unix_listener stats-writer {{
    mode = 0600
  }}
}}
"""


def available() -> bool:
    return os.path.exists(DOVECOT)


@dataclass(frozen=True)
class ImapServer:
    host: str
    port: int
    user: str
    password: str
    base: Path

    def connect(self) -> imaplib.IMAP4:
        """A signed-in test client (the test's own view of the mailbox)."""
        client = imaplib.IMAP4(self.host, self.port, timeout=30)
        token = f"\0{self.user}\0{self.password}".encode()
        client.authenticate("PLAIN", lambda _challenge: token)  # UTF-8: the password has a £
        return client

    def append(self, message: EmailMessage | bytes, folder: str = "INBOX") -> None:
        data = message if isinstance(message, bytes) else message.as_bytes()
        client = self.connect()
        try:
            client.create(folder)  # NO if it exists: fine
            status, reply = client.append(folder, "", imaplib.Time2Internaldate(time.time()), data)
            assert status == "OK", reply
        finally:
            client.logout()

    def count(self, folder: str) -> int:
        """Messages in ``folder`` (0 if it does not exist)."""
        client = self.connect()
        try:
            status, data = client.select(_quoted(folder), readonly=True)
            return int(data[0] or 0) if status == "OK" else 0
        finally:
            client.logout()

    def message_ids(self, folder: str) -> list[str]:
        """The Message-ID of every message in ``folder``."""
        client = self.connect()
        try:
            status, _ = client.select(_quoted(folder), readonly=True)
            if status != "OK":
                return []
            _, found = client.uid("SEARCH", "ALL")
            uids = found[0].split()
            if not uids:
                return []
            _, data = client.uid(
                "FETCH", b",".join(uids).decode(), "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"
            )
        finally:
            client.logout()
        ids = []
        for part in data:
            if isinstance(part, tuple):
                header = part[1].decode().strip()
                ids.append(header.split(":", 1)[1].strip() if ":" in header else "")
        return ids

    def folders(self) -> list[str]:
        client = self.connect()
        try:
            _, data = client.list()
        finally:
            client.logout()
        return [line.decode().rsplit(" ", 1)[-1].strip('"') for line in data if line]


def _quoted(folder: str) -> str:
    return f'"{folder}"'


def form_message(
    number: int,
    attachments: list[tuple[str, bytes]],
    *,
    sender: str = "resident{n}@example.org",
    to: str = "benefits@council.example.gov.uk",
    subject: str = "Change of address form {n}",
    message_id: str | None = None,
) -> EmailMessage:
    """A resident's e-mail with ``attachments`` ((file name, content)), as a mail client
    would send it."""
    message = EmailMessage()
    message["From"] = sender.format(n=number)
    message["To"] = to
    message["Subject"] = subject.format(n=number)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id or make_msgid(idstring=f"form{number}", domain="example.org")
    message.set_content(f"Please find my form attached.\nResident {number}\n")
    for name, data in attachments:
        if name.lower().endswith(".csv"):
            message.add_attachment(data, maintype="text", subtype="csv", filename=name)
        else:
            message.add_attachment(
                data,
                maintype="application",
                subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                filename=name,
            )
    return message


@contextmanager
def dovecot_server() -> Iterator[ImapServer]:
    """Start dovecot in a temp dir (as ``nobody`` when we are root), yield it, stop it."""
    if not available():
        raise FileNotFoundError(f"{DOVECOT} not found (apt-get install dovecot-imapd)")
    base = Path(tempfile.mkdtemp(prefix="borough-imap-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        run_as = ["runuser", "-u", RUN_AS, "--"]
        entry = pwd.getpwnam(RUN_AS)
    else:
        entry = pwd.getpwuid(os.getuid())
    user, uid, gid = entry.pw_name, entry.pw_uid, entry.pw_gid
    group = grp.getgrgid(gid).gr_name
    port = free_port()
    for sub in ("run", "state", "mail", "home"):
        (base / sub).mkdir()
    (base / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n", encoding="utf-8")
    config = base / "dovecot.conf"
    config.write_text(
        CONFIG.format(base=base, user=user, group=group, uid=uid, gid=gid, port=port),
        encoding="utf-8",
    )
    if run_as:
        for path in [base, *base.rglob("*")]:
            os.chown(path, uid, gid)
    os.chmod(base, 0o700)
    process = subprocess.Popen(
        [*run_as, DOVECOT, "-F", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    server = ImapServer("127.0.0.1", port, USER, PASSWORD, base)
    try:
        _wait_ready(server, process)
        yield server
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        if process.stderr is not None:
            process.stderr.close()
        shutil.rmtree(base, ignore_errors=True)


def _wait_ready(server: ImapServer, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            log = server.base / "dovecot.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"dovecot exited {process.returncode}: {err}{tail}")
        try:
            server.connect().logout()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("dovecot did not answer within 30 s")
