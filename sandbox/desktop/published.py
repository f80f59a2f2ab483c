"""``python -m sandbox.desktop.published --db PATH``: the revenues client as a published app.

Like a Citrix or remote-desktop session: the client runs on a display of its own inside a
VNC server (TigerVNC's Xvnc), and the robot sees it only through a VNC viewer window on
the robot's display ($DISPLAY). No clipboard is shared, in either direction, on either
side (the server neither sends nor accepts cut text; the viewer neither sends nor accepts
clipboard changes), and the robot's display has no window of the client: the robot can
only look and type.

Every part stops with this process: a signal stops them in order, and each child is told
by the kernel to stop if this process is killed (``PR_SET_PDEATHSIG``). Arguments after
``--`` go to the client (``--lock-rate``, ``--seed`` ...).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DESKTOP_NAME = "Revenues Client (published)"
#: the title TigerVNC's viewer gives its window
VIEWER_TITLE = f"{DESKTOP_NAME} - TigerVNC"
NO_CLIPBOARD_SERVER = ("-AcceptCutText=0", "-SendCutText=0", "-SendPrimary=0", "-SetPrimary=0")
NO_CLIPBOARD_VIEWER = (
    "-AcceptClipboard=0",
    "-SendClipboard=0",
    "-SendPrimary=0",
    "-SetPrimary=0",
)
NEEDS = {"Xvnc": "tigervnc-standalone-server", "xtigervncviewer": "tigervnc-viewer"}


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM it when the supervisor dies, even by SIGKILL."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start(args: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 - prctl only, no Python state
        **kwargs,  # type: ignore[call-overload]
    )


def stop(process: subprocess.Popen[bytes] | None, timeout: float = 5.0) -> None:
    if process is None:
        return
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait(timeout)


def start_server(folder: Path, size: str, dpi: int) -> tuple[subprocess.Popen[bytes], str, Path]:
    """Xvnc on the first free display, listening only on a private Unix socket."""
    socket = folder / "rfb.sock"
    read, write = os.pipe()
    server = start(
        [
            "Xvnc",
            "-displayfd",
            str(write),
            "-geometry",
            size,
            "-depth",
            "24",
            "-dpi",
            str(dpi),
            "-desktop",
            DESKTOP_NAME,
            "-SecurityTypes",
            "None",
            "-rfbport",
            "-1",
            "-rfbunixpath",
            str(socket),
            "-nolisten",
            "tcp",
            *NO_CLIPBOARD_SERVER,
        ],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=open(folder / "xvnc.log", "wb"),  # noqa: SIM115 - the child keeps it
    )
    os.close(write)
    with os.fdopen(read) as numbers:
        number = numbers.readline().strip()
    if not number:
        stop(server)
        raise RuntimeError(f"Xvnc did not start; see {folder / 'xvnc.log'}")
    deadline = time.monotonic() + 10
    while not socket.exists():
        if time.monotonic() > deadline or server.poll() is not None:
            stop(server)
            raise RuntimeError("Xvnc did not open its socket")
        time.sleep(0.02)
    return server, f":{number}", socket


def _private_folder() -> Path:
    """A folder for the socket and logs, named after this process; folders left by a
    killed supervisor (its pid gone) are removed first."""
    base = Path(tempfile.gettempdir())
    for old in base.glob("borough-published-*"):
        pid = old.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(old, ignore_errors=True)
    folder = base / f"borough-published-{os.getpid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def openbox_config(folder: Path) -> list[str]:
    """openbox's own config plus one rule: the client's main window opens maximised, as a
    published app fills its session (its grid's columns then show whole references)."""
    system = Path("/etc/xdg/openbox/rc.xml")
    if not system.is_file():
        return []
    rule = (
        '<applications><application class="Revenues*" title="Revenues Client">'
        "<maximized>yes</maximized></application>"
    )
    text = system.read_text(encoding="utf-8").replace("<applications>", rule, 1)
    (folder / "rc.xml").write_text(text, encoding="utf-8")
    return ["--config-file", str(folder / "rc.xml")]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    own, _, client_args = (
        (argv[: argv.index("--")], "--", argv[argv.index("--") + 1 :])
        if ("--" in argv)
        else (argv, "", [])
    )
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.desktop.published", description=__doc__
    )
    parser.add_argument("--db", type=Path, required=True, help="SQLite file of the client's data")
    parser.add_argument("--size", default="1024x768", help="the remote desktop, WIDTHxHEIGHT")
    parser.add_argument(
        "--dpi",
        type=int,
        default=100,
        help="of the remote desktop; Xvfb's 100 by default, so text renders as on the robot's "
        "own display (as a published desktop matches its client's DPI)",
    )
    parser.add_argument(
        "--window-manager", default="openbox", help="inside the session ('' for none)"
    )
    args = parser.parse_args(own)
    if not os.environ.get("DISPLAY"):
        print("no DISPLAY: the viewer needs the robot's display", file=sys.stderr)
        return 2
    missing = [f"{tool} ({package})" for tool, package in NEEDS.items() if not shutil.which(tool)]
    if missing:
        print(f"not installed: {', '.join(missing)}; apt-get install them", file=sys.stderr)
        return 2
    stopping = False

    def on_signal(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    folder = _private_folder()
    children: list[subprocess.Popen[bytes]] = []
    try:
        server, inner, socket = start_server(folder, args.size, args.dpi)
        children.append(server)
        inner_env = {**os.environ, "DISPLAY": inner}
        if args.window_manager and shutil.which(args.window_manager):
            children.append(
                start(
                    [
                        args.window_manager,
                        *(openbox_config(folder) if "openbox" in args.window_manager else []),
                    ],
                    env=inner_env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        client = [sys.executable, "-m", "sandbox.desktop", "--db", str(args.db), *client_args]
        children.append(start(client, env=inner_env))
        viewer = [
            "xtigervncviewer",
            *NO_CLIPBOARD_VIEWER,
            "-PreferredEncoding=ZRLE",
            "-NoJPEG=1",
            "-AutoSelect=0",
            "-FullColor=1",
            "-MenuKey=",
            "-Shared=1",
            "-DotWhenNoCursor=0",
            "-ReconnectOnError=0",
            "-AlertOnFatalError=0",
            str(socket),
        ]
        children.append(
            start(viewer, stdout=subprocess.DEVNULL, stderr=open(folder / "viewer.log", "wb"))  # noqa: SIM115
        )
        print(f"READY {inner} {VIEWER_TITLE!r}", flush=True)
        while not stopping:
            gone = [c for c in children if c.poll() is not None]
            if gone:
                print(f"stopping: {gone[0].args[0]} exited ({gone[0].returncode})", file=sys.stderr)
                return 1
            time.sleep(0.2)
        return 0
    finally:
        for child in reversed(children):
            stop(child)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
