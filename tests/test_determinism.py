"""One seed gives the same smoke results: a chapter executed twice writes the same numbers."""

import json

import pytest

from xinpaint import harness

TIMING = {"seconds_per_frame"}


def _numbers(path):
    payload = json.loads(path.read_text())
    return [{k: v for k, v in row.items() if k not in TIMING} for row in payload["rows"]], payload["bins"]


@pytest.mark.slow
def test_smoke_run_is_deterministic(tmp_path, monkeypatch):
    monkeypatch.setenv("XINPAINT_RUNS", str(tmp_path / "runs"))
    first = harness.execute_chapter("interpolation", "smoke", tmp_path / "first")
    second = harness.execute_chapter("interpolation", "smoke", tmp_path / "second")
    a, b = (_numbers(run.notebook.with_suffix(".json")) for run in (first, second))
    assert a == b
    assert len(a[0]) >= 8  # every classical method was evaluated
