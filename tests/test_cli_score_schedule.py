"""`spinepath score` and `spinepath schedule` as a user runs them."""

from __future__ import annotations

import json

import pytest

from spinepath.cli import main


def test_score_odi_prints_score_and_band(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "odi", "3", "2", "3", "2", "3", "2", "2", "-", "2", "3"]) == 0
    assert capsys.readouterr().out == "ODI 48.9 (severe), 9 of 10 sections answered\n"


def test_score_odi_with_two_blanks_has_no_score(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "odi", "-", "2", "3", "2", "3", "2", "2", "-", "2", "3"]) == 0
    assert "no score" in capsys.readouterr().out


def test_score_odi_bad_value_names_the_section(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "odi", "3", "2", "9", "2", "3", "2", "2", "1", "2", "3"]) == 2
    assert "sections section 3: must be 0-5 or - (got '9')" in capsys.readouterr().err


def test_score_pain_responder(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "pain", "--baseline", "70", "--follow-up", "40", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["pain_responder"] is True and result["status"] == "responder"


def test_score_pain_too_early(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "score",
                "pain",
                "--baseline",
                "7",
                "--follow-up",
                "7",
                "--scale",
                "nrs",
                "--visit",
                "6w",
            ]
        )
        == 0
    )
    assert "Status: Too early to judge" in capsys.readouterr().out


def test_score_pain_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["score", "pain", "--baseline", "170", "--follow-up", "40"]) == 2
    assert capsys.readouterr().err.startswith("--baseline: pain VAS: must be 0-100 mm")


def test_schedule_lists_the_visits(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schedule", "--injected", "2026-03-10"]) == 0
    out = capsys.readouterr().out
    assert "6 weeks    2026-04-21  2026-04-07 to 2026-05-05" in out
    assert "24 months" in out and "(optional)" not in out  # standard since policy 2.2


def test_schedule_bad_date(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schedule", "--injected", "10/03/2026"]) == 2
    assert "--injected: must be a date written YYYY-MM-DD" in capsys.readouterr().err
