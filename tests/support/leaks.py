"""Canary people and secrets for the leak suite, and the scan that proves none of them is
in clear anywhere under a borough home.

Own canaries travel through the bots as their input rows (declared personal fields, the
identifier formats apps.yaml declares, and extra columns the bots never use); the callers
are other residents the sandbox apps show beside the forms the bots fill. Every canary
is an invented, distinctive value, so finding it anywhere is a leak, never a coincidence.
"""

from __future__ import annotations

import html
import io
import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

from sandbox.web.validation import make_account


@dataclass(frozen=True)
class Person:
    surname: str
    forenames: str
    nino: str  #: as written in the row (spacing and case vary on purpose)
    postcode: str
    address: str
    email: str
    phone: str
    sort_code: str
    account_number: str
    claim: str
    ct_account: str

    @property
    def bad_ct_account(self) -> str:
        """The account with a wrong check digit: the app's refusal names it."""
        return self.ct_account[:-1] + str((int(self.ct_account[-1]) + 1) % 10)

    @property
    def nino_plain(self) -> str:
        return self.nino.replace(" ", "").upper()

    def canaries(self) -> list[str]:
        """What must never be found in clear (the address by its distinctive words)."""
        street, town = self.address.split(",")[0].split()[-2], self.address.split(",")[1].split()[0]
        return [
            self.surname, self.forenames, street, town,
            self.nino_plain, spaced(self.nino_plain), self.nino_plain.lower(),
            self.postcode, self.postcode.replace(" ", ""),
            self.email, self.phone, self.phone.replace(" ", ""),
            self.sort_code, self.account_number,  # (six bare digits occur in any hex hash)
            self.ct_account, self.bad_ct_account,
        ]  # fmt: skip

    def extra_columns(self) -> dict[str, str]:
        """Columns the bots do not read: they must not surface either."""
        return {
            "Address": self.address,
            "Email": self.email,
            "Phone": self.phone,
            "Bank": f"{self.sort_code} {self.account_number}",
        }


def spaced(nino: str) -> str:
    return f"{nino[:2]} {nino[2:4]} {nino[4:6]} {nino[6:8]} {nino[8:]}"


def _person(n: int, name: str, nino: str, postcode: str, town: str) -> Person:
    forenames, surname = name.split()
    return Person(
        surname=surname,
        forenames=forenames,
        nino=nino,
        postcode=postcode,
        address=f"{n} Quillborne Lane, {town} {postcode}",
        email=f"{forenames.lower()}.{surname.lower()}@example.org",
        phone=f"07700 900{n:03d}",
        sort_code=f"{30 + n}-94-57",
        account_number=f"8172{n:04d}",
        claim=f"HB97{n:04d}",
        ct_account=make_account(731000 + n * 37),
    )


#: own canaries: the NI number spelled three ways across the people
OWN = [
    _person(11, "Zebedee Canarywick", "JT 73 19 28 A", "ZE2 9XW", "Barchester"),
    _person(12, "Ermintrude Thistlewaite", "wk528147c", "YO31 7QN", "Pemberly"),
    _person(13, "Albertine Quorndyke", "RP614253B", "TD9 8XH", "Loxmouth"),
    _person(14, "Oddvar Marchbanks", "HJ 40 11 97 D", "KW15 1YG", "Fennimore"),
    _person(15, "Ysolde Pettigrove", "EG 21 33 84 A", "PH33 6SW", "Harrowgate"),
]
#: other residents the apps show (never typed by a bot, never declared by one)
CALLERS = [
    _person(21, "Ophelia Quintrell", "NW 41 62 83 D", "TR26 2HE", "Tolcaster"),
    _person(22, "Caspian Vexborough", "ZH 90 17 35 B", "LL65 4RG", "Wyrmstead"),
]
WEB_PASSWORD = "Canary-Pw-7f3e1d"
DESKTOP_PASSWORD = "Canary-Desk-4b9a2c"
SECRETS = [WEB_PASSWORD, DESKTOP_PASSWORD]


def callers_json() -> list[dict[str, str]]:
    return [
        {
            "name": f"{p.forenames} {p.surname}",
            "address": p.address,
            "nino": spaced(p.nino_plain),
            "email": p.email,
            "phone": p.phone,
            "bank": f"{p.sort_code} {p.account_number}",
        }
        for p in CALLERS
    ]


def all_canaries() -> list[str]:
    return [c for p in OWN + CALLERS for c in p.canaries()] + SECRETS


def spellings(canary: str) -> set[str]:
    """Plain, JSON-escaped, HTML-escaped and URL-encoded, lower-cased (the scan ignores case)."""
    forms = {
        canary,
        json.dumps(canary)[1:-1],
        json.dumps(canary, ensure_ascii=False)[1:-1],
        html.escape(canary, quote=True),
        html.escape(canary, quote=False),
        quote(canary, safe=""),
        quote_plus(canary, safe=""),
    }
    return {f.lower() for f in forms}


def _blobs(name: str, data: bytes) -> Iterable[tuple[str, bytes]]:
    yield name, data
    if data[:4] == b"PK\x03\x04":  # a zip (a trace, an xlsx): every member too
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for member in archive.namelist():
                    yield from _blobs(f"{name}!{member}", archive.read(member))
        except zipfile.BadZipFile:
            pass


def leaks(home: Path, texts: Iterable[tuple[str, str]] = ()) -> list[str]:
    """Every (canary, where) found in clear: files under ``home`` (every zip member, SQLite
    files as bytes) and the given texts (console output)."""
    wanted = {canary: spellings(canary) for canary in all_canaries()}
    found: list[str] = []
    sources: list[tuple[str, bytes]] = [
        blob
        for path in sorted(home.rglob("*"))
        if path.is_file() and not path.is_symlink()
        for blob in _blobs(str(path.relative_to(home)), path.read_bytes())
    ]
    sources += [(name, text.encode("utf-8")) for name, text in texts]
    for where, data in sources:
        text = data.decode("utf-8", "replace").lower()
        latin = data.decode("latin-1").lower()
        for canary, forms in wanted.items():
            if any(form in text or form in latin for form in forms):
                found.append(f"{canary!r} in {where}")
    return found
