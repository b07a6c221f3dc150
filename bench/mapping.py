"""Benchmark: mapping one persona under each shipped profile (target ≤ 100 µs median).

Measures ``Profile.release`` (selection, transforms, validators, pairwise HMAC-SM3 subject,
the consent items) for every simulator persona, and as a baseline in the same run a plain
``dict`` copy of the same attributes (the floor: what any mapping must at least cost).

    .venv/bin/python bench/mapping.py [--rounds 2000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mappings import ReleaseRequest, load_profile, shipped_profiles
from tests.mappings.conftest import PERSONAS, SALT, TODAY, identity_of


def timings(fn: object, rounds: int) -> list[float]:
    """Per-call wall times in µs."""
    out = []
    clock = time.perf_counter_ns
    for _ in range(rounds):
        start = clock()
        fn()  # type: ignore[operator]
        out.append((clock() - start) / 1000)
    return out


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.99) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2000, help="calls per persona and profile")
    args = parser.parse_args()
    identities = [identity_of(p) for p in PERSONAS]
    baseline: list[float] = []
    for identity in identities:
        baseline += timings(lambda i=identity: dict(i.attributes), args.rounds)
    base_median, base_p99 = summary(baseline)
    print(f"baseline dict copy            median {base_median:7.2f} µs   p99 {base_p99:7.2f} µs")
    worst = 0.0
    for name in shipped_profiles():
        profile = load_profile(name)
        request = ReleaseRequest(
            "bench", ["openid", *profile.scopes], None, "rp.example", "pairwise", "zh-HK"
        )
        supplied = {"home_return_permit": "H12345678"}
        samples: list[float] = []

        def run(i: object, profile=profile, request=request, supplied=supplied) -> None:
            profile.release(i, request, salt=SALT, supplied=supplied, today=TODAY)  # type: ignore[arg-type]

        for identity in identities:
            profile.release(identity, request, salt=SALT, supplied=supplied, today=TODAY)  # warm
            samples += timings(lambda i=identity: run(i), args.rounds)
        median, p99 = summary(samples)
        worst = max(worst, median)
        print(
            f"release {name:<22}median {median:7.2f} µs   p99 {p99:7.2f} µs   "
            f"{median / base_median:6.1f}× baseline"
        )
    verdict = "OK" if worst <= 100 else "OVER BUDGET"
    print(f"worst median {worst:.2f} µs (target ≤ 100 µs): {verdict}")
    return 0 if worst <= 100 else 1


if __name__ == "__main__":
    raise SystemExit(main())
