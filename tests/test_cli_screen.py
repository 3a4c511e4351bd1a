"""`spinepath screen`: one decision per line, errors on stderr naming the field, exit 2."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from repo_paths import CASES
from workup_builder import document

from spinepath.cli import main


def write(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc))
    return path


def test_screen_prints_one_decision_per_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = write(tmp_path / "a.json", document())
    b = write(tmp_path / "b.json", document(imaging=[]))

    assert main(["screen", str(a), str(b)]) == 0

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [d["decision"] for d in lines] == ["candidate", "needs_imaging"]
    assert lines[0]["schema"] == "spinepath.decision/1"


def test_jsonl_with_a_bad_line_decides_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = document(outcomes={"pain_vas": 150})
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(json.dumps(d) for d in (document(), bad, document())) + "\n")

    assert main(["screen", str(path)]) == 2

    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 2
    assert captured.err == f"{path}:2: outcomes.pain_vas: must be at most 100 (got 150)\n"


def test_stdin_is_read_with_a_dash(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(json.dumps(document()).encode()))
    monkeypatch.setattr(sys, "stdin", stdin)

    assert main(["screen", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["decision"] == "candidate"


def test_missing_file_is_reported_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["screen", str(tmp_path / "absent.json")]) == 2
    assert "absent.json: cannot be read" in capsys.readouterr().err


def test_explain_prints_a_readable_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["screen", "--explain", str(CASES / "05-pub-05.json")]) == 0
    out = capsys.readouterr().out
    assert "Decision: needs_workup" in out
    assert "[FAIL] facet_block" in out
    assert "medial branch block at L5-S1" in out


def test_policy_file_changes_the_decision(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text('name = "no-blocks"\nversion = "3"\nfacet_block_required = false\n')

    assert main(["screen", "--policy", str(policy), str(CASES / "05-pub-05.json")]) == 0

    decision = json.loads(capsys.readouterr().out)
    assert decision["decision"] == "candidate"
    assert decision["policy"] == {"name": "no-blocks", "version": "3"}


def test_bad_policy_file_names_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = tmp_path / "p.toml"
    policy.write_text('name = "x"\nversion = "1"\nmbb_relief_min_pct = 180\n')

    assert main(["screen", "--policy", str(policy), str(CASES / "01-pub-01.json")]) == 2
    assert "mbb_relief_min_pct: must be between 0 and 100" in capsys.readouterr().err


def test_the_installed_command_has_help_on_every_command() -> None:
    exe = Path(sys.executable).parent / "spinepath"
    for args in (["--help"], ["screen", "--help"], ["score", "--help"], ["schedule", "--help"]):
        result = subprocess.run([str(exe), *args], capture_output=True, text=True, check=False)
        assert result.returncode == 0, args
        assert "usage: spinepath" in result.stdout
