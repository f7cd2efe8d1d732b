"""Executing a chapter of a tiny temporary book: failures, recordings, the banner."""

import json
import subprocess
import sys

import nbformat
import pytest

from tests.harness.helpers import WRITE_RESULT, chapter_md
from xinpaint import harness


@pytest.mark.slow
def test_failing_chapter_is_named_and_keeps_the_earlier_recording(tiny_book):
    record = tiny_book / "results" / "smoke"
    # An earlier, successful recording of both chapters.
    for chapter in ("good", "bad"):
        run = harness.execute_chapter(chapter, "smoke", record, root=tiny_book)
        assert run.notebook == record / f"{chapter}.ipynb"
    before_nb = (record / "bad.ipynb").read_bytes()
    before_json = (record / "bad.json").read_text()
    assert json.loads(before_json) == {"version": 1, "profile": "smoke"}

    # The chapter now writes a new result, then raises.
    (tiny_book / "book" / "bad.md").write_text(
        chapter_md("bad", WRITE_RESULT.format(name="bad", version=2) + "\nraise RuntimeError('boom in bad')")
    )
    with pytest.raises(harness.ChapterFailed, match=r"chapter 'bad' failed: cell \d+ .*RuntimeError: boom in bad"):
        harness.execute_chapter("bad", "smoke", record, root=tiny_book)
    assert (record / "bad.ipynb").read_bytes() == before_nb
    assert (record / "bad.json").read_text() == before_json
    assert (tiny_book / "_build" / "failed" / "bad.ipynb").exists()

    # Through the command line: exit code 1, the chapter named on stderr, good still recorded.
    out = subprocess.run(
        [sys.executable, "-m", "xinpaint.harness", "--root", str(tiny_book), "execute",
         "--profile", "smoke", "--keep-going"],
        capture_output=True, text=True,
    )
    assert out.returncode == 1
    assert "chapter 'bad' failed" in out.stderr and "boom in bad" in out.stderr
    assert "good" in out.stdout
    assert (record / "bad.json").read_text() == before_json


@pytest.mark.slow
def test_executed_chapter_has_banner_hidden_parameters_and_metadata(tiny_book, tmp_path):
    out = tmp_path / "out"
    run = harness.execute_chapter("good", "smoke", out, root=tiny_book)
    nb = nbformat.read(run.notebook, as_version=4)
    meta = nb.metadata["xinpaint"]
    assert meta["profile"] == "smoke" and meta["chapter"] == "good"
    assert meta["wall_seconds"] > 0 and meta["hardware"] and meta["date"]
    assert nb.cells[0].source.endswith("# Chapter good")
    banner = nb.cells[1]
    assert "run-banner" in banner.metadata["tags"]
    assert "**smoke** profile" in banner.source and meta["hardware"] in banner.source
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "remove-cell" in injected[0].metadata["tags"]
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert params.source.splitlines()[-1] == 'profile = "smoke"'  # the injected value
    assert "injected by the harness" in params.source
    assert json.loads((out / "good.json").read_text())["profile"] == "smoke"
    assert not (tiny_book / "results").exists()  # results went where they were asked to
