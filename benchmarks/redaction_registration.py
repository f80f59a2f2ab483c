"""Redaction benchmark: registering many personal values, and redacting with them.

Run on demand (not a test)::

    .venv/bin/python benchmarks/redaction_registration.py [--values 40000] [--rounds 3]

Issue 20 measured 44 s to register 40,000 addresses sharing a first word ("Flat …"): the
index kept a list per first word and sorted it on every add. This compares, in the same
run, ``Redactor.add_personal`` with a raw baseline that does the least any index must (a
``dict`` keyed by the lower-cased value), for N and 2N values, so the ratio shows whether
registration stays linear; then the time to redact a page of text with all of them held.
Target: the 2N/N ratio near 2 (linear; a quadratic index gives about 4), and redacting a
page with 80,000 values held in well under a second.
"""

from __future__ import annotations

import argparse
import time

from borough.audit.redact import Redactor


def addresses(count: int) -> list[str]:
    return [f"Flat {i}, {i % 97} Long Street, Barchester BC{i % 9} {i % 7}XW" for i in range(count)]


def raw(values: list[str]) -> float:
    started = time.perf_counter()
    index: dict[str, str] = {}
    for value in values:
        index.setdefault(value.lower(), "[address]")
    return time.perf_counter() - started


def borough(values: list[str]) -> tuple[float, Redactor]:
    redactor = Redactor()
    started = time.perf_counter()
    for value in values:
        redactor.add_personal(value, "address")
    return time.perf_counter() - started, redactor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--values", type=int, default=40_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    small, large = addresses(args.values), addresses(2 * args.values)
    for round_ in range(1, args.rounds + 1):
        raw_n, raw_2n = raw(small), raw(large)
        ours_n, _ = borough(small)
        ours_2n, redactor = borough(large)
        page = " ".join(large[i] for i in range(0, len(large), len(large) // 200)) * 5
        started = time.perf_counter()
        redactor.redact(page)
        redact_s = time.perf_counter() - started
        print(
            f"round {round_}: N={args.values:,} raw {raw_n:.3f}s borough {ours_n:.3f}s "
            f"({ours_n / raw_n:.1f}x raw); 2N raw {raw_2n:.3f}s borough {ours_2n:.3f}s "
            f"(2N/N {ours_2n / ours_n:.2f}); redact {len(page):,} chars with 2N held: "
            f"{redact_s * 1000:.1f} ms"
        )


if __name__ == "__main__":
    main()
