"""Tests of xinpaint.evaluation.tables."""

from __future__ import annotations

import pytest

from xinpaint import evaluation as ev


def test_table_rendering():
    t = ev.Table(
        [{"method": "a", "hole_psnr": 31.234, "n_frames": 4, "x": None}], ("method", "hole_psnr")
    )
    assert t.to_markdown() == "| method | hole_psnr |\n|---|---|\n| a | 31.23 |"
    html = t.to_html(digits=1)
    assert "<th>method</th>" in html and "<td>31.2</td>" in html
    assert t.where(method="a") == t and t.where(method="b") == []
    assert t.column("n_frames") == [4]
    assert ev.render_table([{"v": 1.5e-5}], digits=2) == "| v |\n|---|\n| 1.50e-05 |"
    with pytest.raises(ValueError, match=r"Unknown table format: .* Received fmt='latex'\."):
        ev.render_table([], fmt="latex")
