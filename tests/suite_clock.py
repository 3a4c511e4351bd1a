"""The day the suite runs as (tests/conftest.py sets the clock to it for every test)."""

# The example workups are dated around this day; the suite runs as if it were today, so that
# "the MRI is still recent" and "the window is open" mean the same next year as now.
SUITE_TODAY = "2026-11-24 10:00:00-05:00"
