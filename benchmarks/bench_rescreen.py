"""Benchmark: the policy what-if over 100,000 signed workups (target: under 30 s, progress
shown, memory flat).

    python benchmarks/bench_rescreen.py [--postgres URL] [--policy FILE]

Runs on the load benchmark's clinic (benchmarks/bench_load.py builds it: the demo plus a
synthetic cohort, every patient with a signed decision). Prints the progress as it goes, then
the time, the rate, the resident memory at 10% and at the end (flat memory: the two are
close), and the report's counts.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_load import _setup_django, environment  # noqa: E402


def rss_mib() -> float:
    """The process's resident memory now (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL")
    parser.add_argument("--policy", metavar="FILE", help="draft policy (default: MRI 6 months)")
    args = parser.parse_args()
    _setup_django(environment(args.postgres))
    from spinepath.outcomes.whatif import rescreen_clinic, signed_count
    from spinepath.pathway.policy import parse_policy
    from spinepath.policies import default_policy, load_policy

    policy = (
        load_policy(args.policy)
        if args.policy
        else parse_policy(
            'name = "bench"\nversion = "6m"\nmri_max_age_months = 6\n', default_policy()
        )
    )
    total = signed_count()
    print(f"{total:,} patients with a signed workup; draft policy {policy.name} {policy.version}")
    marks: dict[str, float] = {}
    started = time.perf_counter()

    def progress(done: int) -> None:
        if done % 10_000 == 0:
            elapsed = time.perf_counter() - started
            print(f"  {done:>7,} / {total:,}  {elapsed:5.1f} s", flush=True)
        if done == max(1000, total // 10 // 1000 * 1000):
            marks["tenth"] = rss_mib()

    result, skipped = rescreen_clinic(policy, progress)
    elapsed = time.perf_counter() - started
    print(
        f"{result.workups:,} workups in {elapsed:.1f} s ({result.workups / elapsed:,.0f}/s); "
        f"resident memory at 10%: {marks.get('tenth', 0):.0f} MiB, at the end {rss_mib():.0f} "
        f"MiB; changed {result.changed:,}; unreadable {len(skipped)}"
    )
    print(dict(result.transitions.most_common()))


if __name__ == "__main__":
    main()
