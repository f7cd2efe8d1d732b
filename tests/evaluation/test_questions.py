"""Tests of xinpaint.evaluation.questions: the study's questions, answered one way everywhere."""

from __future__ import annotations

import numpy as np
import pytest

from tests.evaluation.test_compare import _record
from xinpaint import evaluation as ev


def _clusters(diff_db, n_seq=6, per=4, spread=0.0, seed=0):
    """A record where A's squared errors are B's divided by 10**(diff/10), per sequence."""
    gen = np.random.default_rng(seed)
    n = n_seq * per
    areas = np.full(n, 20)
    b = gen.uniform(0.01, 0.02, n) * areas
    factor = 10 ** (-(diff_db + spread * gen.normal(size=n_seq).repeat(per)) / 10)
    return _record([3] * n, areas, sequence=np.arange(n_seq).repeat(per).tolist(),
                   a=(b * factor).tolist(), b=b.tolist())


@pytest.mark.parametrize("diff,expected", [
    (1.0, "supported"),
    (-1.0, "not supported (the reverse is: the interval lies below 0)"),
])
def test_answers_name_the_difference_and_the_verdict(diff, expected):
    table, answers = ev.answer_questions(_clusters(diff), {"q": ("does A beat B?", "a", "b")})
    answer = answers["q"]
    assert answer["difference_db"] == pytest.approx(diff, abs=1e-9)
    assert answer["verdict"] == expected
    assert answer["interval"].endswith("dB, 6 blocks of frames resampled")
    assert table[0]["answer"] == expected and table[0]["A"] == "a" and table[0]["B"] == "b"
    assert table[0]["question"] == "does A beat B?"


def test_an_interval_that_holds_zero_is_not_supported():
    _, answers = ev.answer_questions(_clusters(0.05, spread=1.0), {"q": ("?", "a", "b")})
    assert answers["q"]["ci_low"] < 0 < answers["q"]["ci_high"]
    assert answers["q"]["verdict"] == "not supported (the interval includes 0)"


def test_a_single_block_is_not_tested():
    table, answers = ev.answer_questions(_clusters(1.0, n_seq=1), {"q": ("?", "a", "b")})
    assert answers["q"]["verdict"] == "not tested (no interval)"
    assert answers["q"]["interval"] == "no interval: a single block of frames to resample"
    assert table[0]["95 % CI (dB)"] == ""


@pytest.mark.parametrize("questions,match", [
    ({}, r"Received questions=\{\}"),
    ({"q": ("only", "a")}, r"Received questions\['q'\]=\('only', 'a'\)"),
])
def test_bad_questions_name_the_value(questions, match):
    with pytest.raises(ValueError, match=match):
        ev.answer_questions(_clusters(1.0), questions)


def _volumes(diffs, key="volume_psnr"):
    rows = []
    for s, d in enumerate(diffs):
        rows += [{"method": "a", "sequence": s, key: 40.0 + d}, {"method": "b", "sequence": s, key: 40.0},
                 {"method": "metal-free", "sequence": s, key: None}]
    return {"volumes": rows}


def test_volume_difference_is_paired_over_scans():
    out = ev.volume_difference(_volumes([1.0, 2.0, 3.0, 2.0]), "a", "b")
    assert out["difference"] == pytest.approx(2.0) and out["n_scans"] == 4
    assert 1.0 <= out["ci_low"] < 2.0 < out["ci_high"] <= 3.0
    assert out["verdict"] == "supported"
    mixed = ev.volume_difference(_volumes([1.0, -1.0, 0.5, -0.5]), "a", "b")
    assert mixed["verdict"] == "not supported (the interval includes 0)"


def test_a_lower_streak_index_is_better():
    out = ev.volume_difference(_volumes([-5.0, -6.0], key="streak_index_hu"), "a", "b",
                               key="streak_index_hu")
    assert out["difference"] == pytest.approx(5.5) and out["supported"]


def test_volume_difference_names_bad_input():
    with pytest.raises(ValueError, match=r"Received a record without them"):
        ev.volume_difference({}, "a", "b")
    with pytest.raises(ValueError, match=r"expected one of a, b\. Received b='nmar'"):
        ev.volume_difference(_volumes([1.0]), "a", "nmar")
    one = ev.volume_difference(_volumes([1.0]), "a", "b")
    assert one["verdict"] == "not tested (no interval)"
