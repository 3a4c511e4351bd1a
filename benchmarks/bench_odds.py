"""Benchmark: a candidate's "patients like you" figures with 100,000 treated patients.

Target (issue 30): computing a patient's figures at 100,000 treated patients in under 200 ms.

    python benchmarks/bench_odds.py [--patients 100000] [--postgres URL]

The cohort is the synthetic generator's, made the clinic's own (ordinary ids: synthetic
patients never count in what a patient reads), in its own database (var/bench/odds-bench.sqlite3,
or the PostgreSQL database named), kept between runs. Timed, for candidates of each kind of
target:

- a patient's figures on a day whose figures are already computed (every request of the day
  but the first): the whole document a page shows - the match and widening, the intervals, the
  adverse events, the published figures and the model's estimate;
- `spinepath daily-figures`, run from cron early each day: every kind's counts and the
  model's daily fit with its cross-validation, kept for the day (spinepath/outcomes/daily.py);
- without it, the first request of a day, which computes its kind's counts (and the model).

It prints the model's calibration on the cohort as well.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_web import cohort_arguments, ensure_cohort


def main() -> None:
    args = cohort_arguments(__doc__, "odds-bench")

    from django.utils import timezone

    from spinepath.outcomes.daily import DailyFigures
    from spinepath.outcomes.model import clinic_model
    from spinepath.outcomes.odds import daily_figures, data_date, odds_document
    from spinepath.pathway.odds import Features

    engine = "PostgreSQL" if args.postgres else "SQLite"
    print(f"spinepath 'patients like you' benchmark on {engine}")
    ensure_cohort(args.patients, synthetic=False)
    today = timezone.localdate()
    as_of = data_date(today)
    candidates = [
        Features("discogenic", "strongest", "3", "axial", "60-69"),
        Features("discogenic", "typical", "4", "mixed", "50-59"),
        Features("facet", "strongest", "no disc treated", "axial", "40-49"),
        Features("myoligamentous", "typical", "no disc treated", "axial", "70 and over"),
        Features("multiple", "weaker", "3", "radicular", "under 40"),
    ]

    # The day's figures from cron (spinepath daily-figures): every kind and the model.
    DailyFigures.objects.all().delete()
    started = time.perf_counter()
    daily_figures(today)
    print(
        f"\n  spinepath daily-figures (cron, early each day): {time.perf_counter() - started:.1f} s"
    )
    # Without it, the first request of the day computes them: the counts of each kind, and
    # the model's fit.
    DailyFigures.objects.all().delete()
    rows = []
    for features in candidates:
        started = time.perf_counter()
        odds_document(features, today)
        rows.append((features.kind, (time.perf_counter() - started) * 1000))
    print("  without it, the first request of a day (counts the kind's courses, keeps them):")
    for kind, ms in rows:
        print(f"    {kind:<16} {ms:8.0f} ms")
    fitted = DailyFigures.objects.filter(key__startswith="model:").first()
    if fitted is not None:
        print(f"    the model's daily fit with its 5-fold cross-validation: {fitted.seconds:.2f} s")

    print("\n  a patient's figures, every later request of the day (median of 30, p95):")
    worst = 0.0
    for features in candidates:
        times = []
        for _ in range(30):
            started = time.perf_counter()
            document = odds_document(features, today)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        median, p95 = statistics.median(times), times[int(len(times) * 0.95) - 1]
        worst = max(worst, p95)
        widened = ", ".join(document["widened"]) or "nothing"
        answered = document["answered_at_12_months"]
        print(
            f"    {features.kind:<16} {median:6.1f} ms  p95 {p95:6.1f} ms  "
            f"({answered:,} answered at 12 months in the group; widened: {widened})"
        )
    verdict = "met" if worst < 200 else "NOT met"
    print(f"  target under 200 ms: {verdict} (worst p95 {worst:.1f} ms)")

    result = clinic_model(as_of)
    c = result.calibration
    print(f"\n  the clinic's model, data as of {as_of}: {result.courses:,} courses answered")
    if c is not None:
        print(
            f"    calibration slope {c.slope:.2f}, intercept {c.intercept:.2f}, "
            f"C-statistic {c.c_statistic:.3f}, Brier {c.brier:.3f}"
        )
    else:
        print(f"    no model: {result.reason}")


if __name__ == "__main__":
    main()
