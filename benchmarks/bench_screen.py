"""Benchmark: `spinepath screen` on a large .jsonl of generated, varied workups.

Target (issue "spinepath core"): at least 10,000 workups/s in one process on one core, with
memory that does not grow with the file. Runs the real command in a child process pinned to
one core, and reports throughput and peak memory (max RSS) for two file sizes: a flat peak
RSS across sizes shows the input is streamed.

    python benchmarks/bench_screen.py [--count 100000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import orjson  # noqa: E402
from generate_workups import workups  # noqa: E402


def make_file(path: Path, count: int) -> None:
    if path.exists() and path.stat().st_size > 0:
        return
    with path.open("wb") as out:
        for doc in workups(count):
            out.write(orjson.dumps(doc) + b"\n")


def run_screen(path: Path) -> tuple[float, float, int]:
    """(seconds, peak RSS in MiB, output lines) for one `spinepath screen` run on one core."""
    exe = Path(sys.executable).parent / "spinepath"
    command = [str(exe), "screen", str(path)]
    if hasattr(os, "sched_setaffinity"):
        command = ["taskset", "-c", "0", *command]
    out_path = path.with_suffix(".decisions.jsonl")
    started = time.perf_counter()
    with out_path.open("wb") as out, open(os.devnull, "wb") as sink:
        proc = subprocess.Popen(command, stdout=out, stderr=sink)
        _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0, 2):
        raise SystemExit(f"spinepath screen failed with status {status}")
    with out_path.open("rb") as decisions:
        lines = sum(1 for _ in decisions)
    return elapsed, usage.ru_maxrss / 1024, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    var = ROOT / "var" / "bench"
    var.mkdir(parents=True, exist_ok=True)
    sizes = [args.count // 10, args.count]
    print(f"spinepath screen benchmark (python {sys.version.split()[0]}, one core)")
    for count in sizes:
        path = var / f"workups-{count}.jsonl"
        make_file(path, count)
        seconds, peak_mib, lines = run_screen(path)
        size_mib = path.stat().st_size / 2**20
        print(
            f"  {count:>7} workups ({size_mib:6.1f} MiB): {seconds:6.2f} s, "
            f"{lines / seconds:8.0f} workups/s, peak memory {peak_mib:6.1f} MiB"
        )


if __name__ == "__main__":
    main()
